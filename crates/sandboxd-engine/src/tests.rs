//! Unit tests of the engine on the fake runtime.
