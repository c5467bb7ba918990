//! Build (or confirm) the default sandbox image by hand, printing progress:
//! `cargo run -p sandboxd-image --example default_image -- [--force] [--method auto|dockerfile|debootstrap]
//! [--flavor base|agents] [--base IMAGE] [--tag TAG] [--mirror URL] [--security-mirror URL|none]`.

use anyhow::{bail, Result};
use sandboxd_image::{ensure_default_image, DefaultImageOptions};

#[tokio::main]
async fn main() -> Result<()> {
    let mut opts = DefaultImageOptions::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| anyhow::anyhow!("{arg} needs a value"))
        };
        match arg.as_str() {
            "--force" => opts.force = true,
            "--method" => opts.method = value()?.parse()?,
            "--flavor" => opts.flavor = value()?.parse()?,
            "--base" => opts.base_image = value()?,
            "--tag" => opts.tag = value()?,
            "--mirror" => opts.mirror = value()?,
            "--security-mirror" => opts.security_mirror = Some(value()?).filter(|m| m != "none"),
            other => bail!("unknown argument {other}"),
        }
    }
    let docker = bollard::Docker::connect_with_local_defaults()?
        .negotiate_version()
        .await?;
    let start = std::time::Instant::now();
    let image = ensure_default_image(&docker, &opts, &|line| eprintln!("{line}")).await?;
    println!("{image:#?}\ntotal {:.1}s", start.elapsed().as_secs_f64());
    Ok(())
}
