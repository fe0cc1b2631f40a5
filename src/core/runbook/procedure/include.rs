//! `include:`: fragments of steps read from files beside the runbook.

use std::path::{Path, PathBuf};

use super::super::model::{Fragment, Runbook};
use super::{BindInput, Source};
use crate::text::yaml::{self, YamlError};

/// A fragment read for one `include:` step: where it came from and what it holds.
pub(super) struct Included {
    pub(super) path: PathBuf,
    pub(super) text: String,
    pub(super) fragment: Fragment,
}

/// Per step of the runbook, the fragment it includes, if it is an `include:` step.
pub(super) fn read_fragments(
    runbook: &Runbook,
    text: &str,
    path: &Path,
    input: &BindInput,
) -> Result<Vec<Option<Included>>, YamlError> {
    let mut included = Vec::new();
    for (index, spec) in runbook.steps.iter().enumerate() {
        let source = Source {
            text,
            path,
            index,
            included: false,
        };
        let Some(include) = &spec.include else {
            included.push(None);
            continue;
        };
        if spec.id.is_some()
            || spec.title.is_some()
            || !spec.run.is_empty()
            || !spec.effect.is_empty()
        {
            return Err(source.error(&["include"], "an `include:` step holds nothing else"));
        }
        let fragment_path = path.parent().unwrap_or(Path::new(".")).join(include);
        if fragment_path.components().eq(path.components()) {
            return Err(source.error(&["include"], "a runbook cannot include itself"));
        }
        let fragment_text =
            (input.read_fragment)(&fragment_path).map_err(|e| source.error(&["include"], e))?;
        let fragment: Fragment = yaml::from_included_str(&fragment_text, &fragment_path)?;
        included.push(Some(Included {
            path: fragment_path,
            text: fragment_text,
            fragment,
        }));
    }
    Ok(included)
}
