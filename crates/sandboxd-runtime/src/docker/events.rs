//! Docker's container events in our words. Only the actions the engine acts on become events
//! (`create`, `start`, `die`, `oom`, `destroy`); everything else (`attach`, `kill`, `stop`,
//! `exec_*`, `health_status: …`) is dropped here, so nothing downstream matches Docker strings.

use super::{container, map_err, DockerRuntime};
use crate::{EventKind, RuntimeError, RuntimeEvent};
use bollard::system::EventsOptions;
use futures_util::stream::{BoxStream, StreamExt};

/// The event kind for a Docker action, when we act on it.
pub(super) fn kind_of(action: &str) -> Option<EventKind> {
    Some(match action {
        "create" => EventKind::Created,
        "start" => EventKind::Started,
        "die" => EventKind::Died,
        "oom" => EventKind::OutOfMemory,
        "destroy" => EventKind::Destroyed,
        _ => return None,
    })
}

pub(super) fn stream(rt: &DockerRuntime) -> BoxStream<'static, Result<RuntimeEvent, RuntimeError>> {
    let me = rt.installation.clone();
    let mut filters = container::label_filter(rt);
    filters.insert("type".into(), vec!["container".into()]);
    let opts = EventsOptions::<String> {
        filters,
        ..Default::default()
    };
    rt.docker
        .events(Some(opts))
        .filter_map(move |ev| {
            let me = me.clone();
            async move {
                let ev = match ev {
                    Ok(ev) => ev,
                    Err(e) => return Some(Err(map_err(e))),
                };
                let kind = kind_of(ev.action.as_deref()?)?;
                let labels = ev.actor.and_then(|a| a.attributes).unwrap_or_default();
                if super::owner::is_foreign(me.as_ref(), Some(&labels)) {
                    return None;
                }
                Some(Ok(RuntimeEvent {
                    container: labels.get("name").cloned().unwrap_or_default(),
                    sandbox: container::sandbox_of(Some(&labels)),
                    kind,
                }))
            }
        })
        .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_actions_we_act_on_become_events() {
        assert_eq!(kind_of("die"), Some(EventKind::Died));
        assert_eq!(kind_of("destroy"), Some(EventKind::Destroyed));
        assert_eq!(kind_of("start"), Some(EventKind::Started));
        assert_eq!(kind_of("oom"), Some(EventKind::OutOfMemory));
        assert_eq!(kind_of("create"), Some(EventKind::Created));
        for other in [
            "kill",
            "stop",
            "attach",
            "exec_start: sh",
            "health_status: healthy",
        ] {
            assert_eq!(kind_of(other), None, "{other}");
        }
    }
}
