//! What one run of the adapter was asked to do: `argv = [NAME, HOOK, SCRIPT]`.

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;

use crate::{Error, Result};

/// The hook being called, from `argv[1]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hook {
    Sync,
    Finalize,
    Customize,
    /// Not a metacontroller hook: load the script and check that `module.exports` is a
    /// function, so a broken script is refused when it is loaded, not at its first call.
    Check,
}

impl Hook {
    /// Every hook name `argv[1]` may hold, for messages.
    pub const NAMES: &'static str = "sync, finalize, customize or check";

    pub fn parse(name: &str) -> Option<Hook> {
        match name {
            "sync" => Some(Hook::Sync),
            "finalize" => Some(Hook::Finalize),
            "customize" => Some(Hook::Customize),
            "check" => Some(Hook::Check),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Hook::Sync => "sync",
            Hook::Finalize => "finalize",
            Hook::Customize => "customize",
            Hook::Check => "check",
        }
    }

    /// Whether the hook gets metacontroller's request on stdin (`check` gets nothing).
    pub fn reads_request(self) -> bool {
        self != Hook::Check
    }
}

impl fmt::Display for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One call: which hook of which script, under which hook name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invocation {
    /// The hook's name in hookserver (`NAME` in `/hooks/NAME/HOOK`).
    pub name: String,
    pub hook: Hook,
    /// The entry script. In hookserver it is inside the read-only preopened `/hook`
    /// folder; in tests it is a host path. Nothing here depends on which.
    pub script: PathBuf,
}

impl Invocation {
    /// Reads the whole argv, in either of two forms:
    ///
    /// - `[NAME, HOOK, SCRIPT]`: hookserver puts the hook's name where a program's name
    ///   goes (`argv[0]`), as for every hook module;
    /// - `[PROGRAM, NAME, HOOK, SCRIPT]`: a native run from a shell, where `argv[0]` is
    ///   the binary's path (`cargo run --bin js -- NAME HOOK SCRIPT`).
    pub fn from_args<I>(args: I) -> Result<Invocation>
    where
        I: IntoIterator<Item = OsString>,
    {
        let args: Vec<OsString> = args.into_iter().collect();
        let shown = || {
            let list: Vec<String> = args
                .iter()
                .map(|arg| format!("{:?}", arg.to_string_lossy()))
                .collect();
            format!("[{}]", list.join(", "))
        };
        let (name, hook, script) = match args.as_slice() {
            [name, hook, script] | [_, name, hook, script] => (name, hook, script),
            _ => return Err(Error::Usage { got: shown() }),
        };
        let (Some(name), Some(hook)) = (name.to_str(), hook.to_str()) else {
            return Err(Error::Usage { got: shown() });
        };
        if name.is_empty() || script.is_empty() {
            return Err(Error::Usage { got: shown() });
        }
        let hook = Hook::parse(hook).ok_or_else(|| Error::UnknownHook {
            hook: hook.to_string(),
        })?;
        Ok(Invocation {
            name: name.to_string(),
            hook,
            script: PathBuf::from(script),
        })
    }

    /// The URL path of the call in hookserver, given to the script as
    /// `context.request.url`.
    pub fn url(&self) -> String {
        format!("/hooks/{}/{}", self.name, self.hook)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn reads_name_hook_and_script() {
        let invocation =
            Invocation::from_args(args(&["bluegreen", "sync", "/hook/bluegreen.js"])).unwrap();
        assert_eq!(invocation.name, "bluegreen");
        assert_eq!(invocation.hook, Hook::Sync);
        assert_eq!(invocation.script, PathBuf::from("/hook/bluegreen.js"));
        assert_eq!(invocation.url(), "/hooks/bluegreen/sync");
        for hook in ["sync", "finalize", "customize", "check"] {
            let invocation = Invocation::from_args(args(&["n", hook, "s.js"])).unwrap();
            assert_eq!(invocation.hook.as_str(), hook);
        }
    }

    #[test]
    fn a_native_run_names_the_hook_after_the_program() {
        let native = args(&["target/debug/js", "bluegreen", "sync", "x/bluegreen.js"]);
        let invocation = Invocation::from_args(native).unwrap();
        assert_eq!(invocation.name, "bluegreen");
        assert_eq!(invocation.hook, Hook::Sync);
        assert_eq!(invocation.script, PathBuf::from("x/bluegreen.js"));
    }

    #[test]
    fn wrong_argument_counts_are_usage_errors() {
        for list in [
            &[][..],
            &["n"],
            &["n", "sync"],
            &["p", "n", "sync", "s.js", "x"],
        ] {
            let err = Invocation::from_args(args(list)).unwrap_err();
            assert!(matches!(err, Error::Usage { .. }), "{list:?}: {err}");
        }
        let err = Invocation::from_args(args(&["", "sync", "s.js"])).unwrap_err();
        assert!(err.to_string().contains("usage"), "{err}");
    }

    #[test]
    fn unknown_hooks_are_named() {
        let err = Invocation::from_args(args(&["n", "reconcile", "s.js"])).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("\"reconcile\"") && text.contains(Hook::NAMES),
            "{text}"
        );
    }
}
