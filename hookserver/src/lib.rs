//! hookserver runs [metacontroller] hooks as WebAssembly modules, one fresh instance per
//! request.
//!
//! A request travels: [`http`] (route, request checks) -> [`registry`] (name to the version
//! being served) -> [`pipeline`] (ETag, [`response_cache`], [`admission`]) ->
//! [`module_cache`] (compiled modules by digest, memory then [`disk_cache`]) -> [`invoke`]
//! (fresh Store and WASI context, `_start`, drop) -> [`protocol`] (the output guard).
//! Modules arrive from [`source`]s (a directory, Kubernetes ConfigMaps) as events applied by
//! the registry, the single writer.
//!
//! Only [`engine`] touches wasmtime's configuration; [`options`] holds the per-hook limits.
//! [`tls`] serves HTTPS (and checks client certificates), `http::auth` checks bearer tokens
//! and basic credentials; both re-read their files through [`watched`].
//!
//! [metacontroller]: https://metacontroller.github.io/metacontroller/

pub mod abi;
pub mod adapters;
pub mod admission;
pub mod cli;
pub mod configmap_manifest;
pub mod digest;
pub mod disk_cache;
pub mod engine;
pub mod heap;
pub mod http;
pub mod invoke;
pub mod metrics;
pub mod module_cache;
pub mod options;
pub mod pipeline;
pub mod protocol;
pub mod registry;
pub mod response_cache;
pub mod script;
pub mod server;
pub mod source;
pub mod stdio;
pub mod tls;
pub mod watched;
