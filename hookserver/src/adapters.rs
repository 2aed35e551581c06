//! What script hooks need from the server: the adapter modules (one per language, read from
//! `--adapters DIR`), a place on disk for each script's files, and the load-time check that
//! refuses a script with a syntax error before it replaces a good version.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;

use crate::admission::Admission;
use crate::engine::Runtime;
use crate::invoke::{self, Call, Failure};
use crate::module_cache::LoadedModule;
use crate::options::Limits;
use crate::script::{CHECK_VERB, Language, ScriptDir, ScriptFiles, ScriptStore};

pub struct ScriptSupport {
    adapters_dir: Option<PathBuf>,
    store: ScriptStore,
    /// The shared instance pool: a check is an instance like any call.
    pool: Arc<Admission>,
}

impl ScriptSupport {
    pub fn new(adapters_dir: Option<PathBuf>, store: ScriptStore, pool: Arc<Admission>) -> Self {
        ScriptSupport {
            adapters_dir,
            store,
            pool,
        }
    }

    /// The adapter module for `language`, read now, so that a rebuilt adapter is picked up by
    /// the next script load. The module cache makes reading it again cheap: same bytes, same
    /// compiled module.
    pub fn adapter(&self, language: Language) -> Result<Vec<u8>, String> {
        let Some(dir) = &self.adapters_dir else {
            return Err(format!(
                "{language} script hooks need the {language} adapter: start hookserver with \
                 --adapters DIR, a directory holding {} (`make adapters` builds it into \
                 target/adapters)",
                language.adapter_file()
            ));
        };
        let path = dir.join(language.adapter_file());
        std::fs::read(&path).map_err(|err| {
            format!(
                "cannot read the {language} adapter {}: {err} (`make adapters` builds it; \
                 --adapters must name the directory holding it)",
                path.display()
            )
        })
    }

    /// The script's files on disk, shared with every version that has the same files.
    pub fn materialize(&self, files: ScriptFiles) -> Result<Arc<ScriptDir>, String> {
        self.store.materialize(files).map_err(|err| err.to_string())
    }

    /// Asks the adapter to check the script (parse it, load its imports) without a request.
    pub async fn check(
        &self,
        runtime: &Runtime,
        adapter: &LoadedModule,
        name: &str,
        script: &ScriptDir,
        limits: &Limits,
    ) -> Result<(), String> {
        let deadline = tokio::time::Instant::now() + limits.timeout;
        let _permit = self.pool.admit(deadline).await.map_err(|_| {
            "the instance pool stayed full for the whole timeout, so the script could not be \
             checked; it is tried again on its next change (raise --pool-size if this repeats)"
                .to_string()
        })?;
        let call = Call {
            name,
            verb: CHECK_VERB,
            body: Bytes::new(),
            limits,
            script: Some(script),
        };
        let language = script.files.language;
        match invoke::invoke(runtime, &adapter.pre, call).await {
            Ok(_) => Ok(()),
            Err(failed) if failed.failure == (Failure::Exit { code: 1 }) => Err(format!(
                "the {language} adapter refused {}: {}",
                script.files.entry,
                failed.stderr.trim()
            )),
            Err(failed) => Err(format!(
                "checking {} with the {language} adapter failed: {}{}",
                script.files.entry,
                failed.failure,
                if failed.stderr.trim().is_empty() {
                    String::new()
                } else {
                    format!("; stderr: {}", failed.stderr.trim())
                }
            )),
        }
    }
}
