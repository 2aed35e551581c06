//! Write [metacontroller] hooks as plain Rust functions and build them as WebAssembly hooks
//! for hookserver (or any runner of hook ABI v1: a WASI command that reads the request on
//! stdin and prints the response on stdout).
//!
//! ```
//! use metahook::{CompositeHooks, CompositeResponse, Object};
//! use serde_json::json;
//!
//! fn hooks() -> CompositeHooks {
//!     CompositeHooks::new().sync(|request| {
//!         let parent = &request.parent;
//!         let greeting = parent.get_str("spec.who").unwrap_or("World");
//!         let pod = Object::new("v1", "Pod", parent.name())
//!             .with("spec.containers", json!([{"name": "hello", "image": "busybox",
//!                                              "command": ["echo", format!("Hello, {greeting}!")]}]))
//!             .with("spec.restartPolicy", "OnFailure");
//!         let pods = request.children.count("Pod");
//!         Ok(CompositeResponse::new(vec![pod]).with_status(json!({"pods": pods})))
//!     })
//! }
//!
//! // In the hook's `main`: `hooks().main()`. On the host, test it directly:
//! let request = br#"{"parent": {"metadata": {"name": "hi"}, "spec": {"who": "you"}},
//!                    "children": {"Pod.v1": {}}}"#;
//! let response: serde_json::Value =
//!     serde_json::from_slice(&hooks().handle("sync", request).unwrap()).unwrap();
//! assert_eq!(response["children"][0]["spec"]["containers"][0]["command"][1], "Hello, you!");
//! ```
//!
//! What is here:
//! - the wire types of every hook, matching metacontroller's JSON field for field:
//!   [`CompositeRequest`]/[`CompositeResponse`], [`DecoratorRequest`]/[`DecoratorResponse`],
//!   [`CustomizeRequest`]/[`CustomizeResponse`]. They do no I/O and build natively too, so
//!   hooks are unit-tested with `cargo test` and servers and test suites reuse them;
//! - [`Object`] (free-form JSON with accessors and builders) and [`ObjectMap`] (children,
//!   attachments and related objects, keyed `Kind.version` then name or `namespace/name`);
//! - [`CompositeHooks`] and [`DecoratorHooks`], which turn functions into a hook program.
//!
//! [metacontroller]: https://metacontroller.github.io/metacontroller/

mod composite;
mod customize;
mod decorator;
mod entry;
mod object;
mod object_map;

pub use composite::{CompositeRequest, CompositeResponse};
pub use customize::{CustomizeRequest, CustomizeResponse, RelatedResourceRule};
pub use decorator::{DecoratorRequest, DecoratorResponse, MetadataUpdates};
pub use entry::{CompositeHooks, DecoratorHooks, Error, Hooks, Result};
pub use object::Object;
pub use object_map::{ObjectMap, type_key};
