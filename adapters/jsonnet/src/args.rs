//! The command line hookserver gives the adapter: `[NAME, HOOK, SCRIPT]`.

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;

use crate::Failure;

/// What the server asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hook {
    Sync,
    Finalize,
    Customize,
    /// Load-time check: compile the script and its imports, evaluate nothing.
    Check,
}

impl Hook {
    fn parse(text: &str) -> Option<Hook> {
        Some(match text {
            "sync" => Hook::Sync,
            "finalize" => Hook::Finalize,
            "customize" => Hook::Customize,
            "check" => Hook::Check,
            _ => return None,
        })
    }

    /// Whether the hook reads a request from stdin (every hook but `check`).
    pub fn takes_request(self) -> bool {
        self != Hook::Check
    }
}

impl fmt::Display for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Hook::Sync => "sync",
            Hook::Finalize => "finalize",
            Hook::Customize => "customize",
            Hook::Check => "check",
        })
    }
}

/// One call of the adapter, from its arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invocation {
    /// The hook's name, only used in messages.
    pub name: String,
    /// Which hook. jsonnetd serves one script per URL and never tells the script which
    /// hook it is, so neither does the adapter: this only selects `check` and labels
    /// messages.
    pub hook: Hook,
    /// The entry script. Under hookserver it lies in the read-only `/hook` directory;
    /// natively it is any host path. Nothing here depends on which.
    pub script: PathBuf,
}

impl Invocation {
    /// Reads `[NAME, HOOK, SCRIPT]` (without a program path in front).
    pub fn from_args<I, S>(args: I) -> Result<Invocation, Failure>
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
        let [name, hook, script] =
            <[OsString; 3]>::try_from(args).map_err(|args| Failure::Usage {
                got: args
                    .iter()
                    .map(|arg| format!("{:?}", arg.to_string_lossy()))
                    .collect::<Vec<_>>()
                    .join(" "),
            })?;
        let hook_text = hook.to_string_lossy();
        let hook = Hook::parse(&hook_text).ok_or_else(|| Failure::UnknownHook {
            hook: hook_text.into_owned(),
        })?;
        Ok(Invocation {
            name: name.to_string_lossy().into_owned(),
            hook,
            script: PathBuf::from(script),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_arguments_make_an_invocation() {
        let invocation =
            Invocation::from_args(["catset", "finalize", "/hook/catset.jsonnet"]).expect("valid");
        assert_eq!(invocation.name, "catset");
        assert_eq!(invocation.hook, Hook::Finalize);
        assert_eq!(invocation.script, PathBuf::from("/hook/catset.jsonnet"));
        assert!(invocation.hook.takes_request());
        let check = Invocation::from_args(["x", "check", "x.jsonnet"]).expect("valid");
        assert!(!check.hook.takes_request());
    }

    #[test]
    fn wrong_argument_counts_and_hooks_are_refused() {
        let err = Invocation::from_args(["only-name"]).expect_err("too few");
        assert!(matches!(err, Failure::Usage { .. }), "{err}");
        assert!(err.to_string().contains("\"only-name\""), "{err}");
        let err = Invocation::from_args(Vec::<String>::new()).expect_err("none");
        assert!(err.to_string().contains("NAME HOOK SCRIPT"), "{err}");
        let err = Invocation::from_args(["a", "sync", "s", "extra"]).expect_err("too many");
        assert!(matches!(err, Failure::Usage { .. }), "{err}");
        let err = Invocation::from_args(["a", "reconcile", "s"]).expect_err("unknown hook");
        assert!(err.to_string().contains("\"reconcile\""), "{err}");
    }
}
