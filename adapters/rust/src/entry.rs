//! From plain functions to a hook program: read stdin, dispatch on the hook named in
//! `argv[1]`, write stdout, and turn an error into exit code 1 with the message on stderr.

use std::io::{Read, Write};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{
    CompositeRequest, CompositeResponse, CustomizeRequest, CustomizeResponse, DecoratorRequest,
    DecoratorResponse,
};

/// Any error a hook function returns; its message reaches the user (through metacontroller's
/// `SyncError` event), so say what was wrong and what to do.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

type Handler<Req, Resp> = Box<dyn Fn(&Req) -> Result<Resp>>;

/// The hooks of one controller: `sync` and `finalize` take `Req` and answer `Resp`;
/// implement only the ones you use. Use it as [`CompositeHooks`] or [`DecoratorHooks`].
pub struct Hooks<Req, Resp> {
    sync: Option<Handler<Req, Resp>>,
    finalize: Option<Handler<Req, Resp>>,
    customize: Option<Handler<CustomizeRequest, CustomizeResponse>>,
}

/// The hooks of a CompositeController.
pub type CompositeHooks = Hooks<CompositeRequest, CompositeResponse>;

/// The hooks of a DecoratorController.
pub type DecoratorHooks = Hooks<DecoratorRequest, DecoratorResponse>;

impl<Req, Resp> Default for Hooks<Req, Resp> {
    fn default() -> Self {
        Hooks {
            sync: None,
            finalize: None,
            customize: None,
        }
    }
}

impl<Req: DeserializeOwned, Resp: Serialize> Hooks<Req, Resp> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn sync(mut self, f: impl Fn(&Req) -> Result<Resp> + 'static) -> Self {
        self.sync = Some(Box::new(f));
        self
    }

    pub fn finalize(mut self, f: impl Fn(&Req) -> Result<Resp> + 'static) -> Self {
        self.finalize = Some(Box::new(f));
        self
    }

    pub fn customize(
        mut self,
        f: impl Fn(&CustomizeRequest) -> Result<CustomizeResponse> + 'static,
    ) -> Self {
        self.customize = Some(Box::new(f));
        self
    }

    /// Answers one call: `hook` is `sync`, `finalize` or `customize`, `input` the request
    /// body. This is what [`Hooks::main`] runs; tests call it directly.
    pub fn handle(&self, hook: &str, input: &[u8]) -> Result<Vec<u8>> {
        match hook {
            "sync" => call(hook, self.sync.as_ref(), input, self.names()),
            "finalize" => call(hook, self.finalize.as_ref(), input, self.names()),
            "customize" => call(hook, self.customize.as_ref(), input, self.names()),
            other => Err(unknown_hook(other, self.names())),
        }
    }

    /// Runs as a hook program (ABI v1) and exits.
    pub fn main(self) -> ! {
        run_main(|hook, input| self.handle(hook, input))
    }

    fn names(&self) -> Vec<&'static str> {
        implemented([
            ("sync", self.sync.is_some()),
            ("finalize", self.finalize.is_some()),
            ("customize", self.customize.is_some()),
        ])
    }
}

fn implemented(hooks: [(&'static str, bool); 3]) -> Vec<&'static str> {
    hooks
        .into_iter()
        .filter_map(|(name, present)| present.then_some(name))
        .collect()
}

fn call<Req: DeserializeOwned, Resp: Serialize>(
    hook: &str,
    handler: Option<&Handler<Req, Resp>>,
    input: &[u8],
    implemented: Vec<&'static str>,
) -> Result<Vec<u8>> {
    let Some(handler) = handler else {
        return Err(format!(
            "this hook does not implement `{hook}` (it implements {}); point the controller's \
             {hook} hook at a module that does, or remove it from the controller",
            list(&implemented)
        )
        .into());
    };
    if input.iter().all(u8::is_ascii_whitespace) {
        return Err(format!(
            "the {hook} request on stdin is empty: the hook expects metacontroller's JSON request"
        )
        .into());
    }
    let request: Req = serde_json::from_slice(input)
        .map_err(|err| format!("cannot read the {hook} request: {err}"))?;
    let response = handler(&request)?;
    Ok(serde_json::to_vec(&response)?)
}

fn unknown_hook(hook: &str, implemented: Vec<&'static str>) -> Error {
    format!(
        "unknown hook {hook:?} in argv[1]: expected one of {}",
        list(&implemented)
    )
    .into()
}

fn list(names: &[&str]) -> String {
    if names.is_empty() {
        "no hooks".to_string()
    } else {
        names.join(", ")
    }
}

fn run_main(handle: impl FnOnce(&str, &[u8]) -> Result<Vec<u8>>) -> ! {
    let mut args = std::env::args();
    let name = args.next().unwrap_or_else(|| "hook".to_string());
    let hook = args.next().unwrap_or_default();
    let mut input = Vec::new();
    let result = std::io::stdin()
        .read_to_end(&mut input)
        .map_err(|err| Error::from(format!("cannot read the request from stdin: {err}")))
        .and_then(|_| handle(&hook, &input))
        .and_then(|output| {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(&output)?;
            stdout.flush()?;
            Ok(())
        });
    match result {
        Ok(()) => std::process::exit(0),
        Err(err) => {
            eprintln!("{name}: {err}");
            std::process::exit(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Object;

    fn hooks() -> CompositeHooks {
        CompositeHooks::new().sync(|request| {
            if request.parent.name().is_empty() {
                return Err("the parent has no name".into());
            }
            Ok(CompositeResponse::new(vec![Object::new(
                "v1",
                "ConfigMap",
                request.parent.name(),
            )]))
        })
    }

    #[test]
    fn dispatches_to_the_named_hook() {
        let output = hooks()
            .handle(
                "sync",
                br#"{"parent":{"metadata":{"name":"a"}},"children":{}}"#,
            )
            .expect("sync");
        let value: serde_json::Value = serde_json::from_slice(&output).expect("JSON");
        assert_eq!(value["children"][0]["metadata"]["name"], "a");
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let hooks = hooks();
        let message = |hook: &str, input: &[u8]| {
            hooks
                .handle(hook, input)
                .expect_err("should fail")
                .to_string()
        };
        assert_eq!(
            message("finalize", b"{}"),
            "this hook does not implement `finalize` (it implements sync); point the \
             controller's finalize hook at a module that does, or remove it from the controller"
        );
        assert_eq!(
            message("reconcile", b"{}"),
            "unknown hook \"reconcile\" in argv[1]: expected one of sync"
        );
        assert!(message("sync", b"{").starts_with("cannot read the sync request: EOF"));
        assert!(message("sync", b" \n").starts_with("the sync request on stdin is empty"));
        assert!(message("sync", b"{}").contains("missing field `parent`"));
        assert_eq!(
            message("sync", br#"{"parent":{}}"#),
            "the parent has no name"
        );
    }
}
