//! Completion of typed file paths, for the path fields that stand in for the system file
//! dialog (a machine without a portal or zenity has none, and a dialog may fail): the entries of
//! the folder named so far that begin with the last, partly typed name, folders first.
//!
//! A path may start with `~/` (the home folder); completions keep the text as typed and add only
//! to its last part, so what a person wrote is never rewritten under them.

use std::path::{MAIN_SEPARATOR, Path, PathBuf};

/// The most entries one completion lists: a folder of 100,000 files must not stall a frame.
pub const MAX_CANDIDATES: usize = 200;

/// Which entries a field wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Want<'a> {
    /// Folders, and files with one of these extensions (lower case, no dot); all files when
    /// empty.
    Files(&'a [&'a str]),
    /// Folders only.
    Folders,
}

/// One entry that completes the typed text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// The entry's name, with a trailing `/` for a folder.
    pub name: String,
    pub is_dir: bool,
    /// The whole field text with this entry chosen.
    pub text: String,
}

/// What completing typed text found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Completion {
    /// Matching entries, folders first, then by name ignoring case; at most
    /// [`MAX_CANDIDATES`].
    pub candidates: Vec<Candidate>,
    /// More entries matched than are listed.
    pub truncated: bool,
    /// The folder could not be listed (it does not exist, or may not be read): why.
    pub problem: Option<String>,
}

impl Completion {
    /// The field text extended as far as every candidate agrees (Tab in a shell); the typed
    /// text itself when they agree on nothing more, or there are none.
    #[must_use]
    pub fn common_text(&self, typed: &str) -> String {
        let Some(first) = self.candidates.first() else {
            return typed.to_owned();
        };
        let mut common = first.text.as_str();
        for c in &self.candidates[1..] {
            let shared = common
                .char_indices()
                .zip(c.text.chars())
                .find(|((_, a), b)| a != b)
                .map_or(common.len().min(c.text.len()), |((i, _), _)| i);
            common = &common[..shared];
        }
        if common.len() > typed.len() {
            common.to_owned()
        } else {
            typed.to_owned()
        }
    }
}

/// `~` or `~/...` as the home folder's; any other text as a path as it is.
#[must_use]
pub fn expand_home(typed: &str) -> PathBuf {
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty());
    match (typed, home) {
        ("~", Some(home)) => PathBuf::from(home),
        (t, Some(home)) if t.starts_with("~/") => PathBuf::from(home).join(&t[2..]),
        _ => PathBuf::from(typed),
    }
}

/// The typed text split into the folder part as typed (up to and with its last `/`) and the
/// partial name after it.
fn split(typed: &str) -> (&str, &str) {
    let cut = typed.rfind(['/', MAIN_SEPARATOR]).map_or(0, |i| i + 1);
    typed.split_at(cut)
}

/// The entries of the typed folder that begin with the typed partial name (exactly; ignoring
/// case when nothing matches exactly). Hidden entries only when the partial name starts with
/// a dot. A relative folder is read from `base`.
#[must_use]
pub fn complete(typed: &str, want: Want<'_>, base: &Path) -> Completion {
    let (folder_text, partial) = split(typed);
    let folder = if folder_text.is_empty() {
        base.to_path_buf()
    } else {
        let expanded = expand_home(folder_text);
        if expanded.is_absolute() {
            expanded
        } else {
            base.join(expanded)
        }
    };
    let read = match std::fs::read_dir(&folder) {
        Ok(read) => read,
        Err(e) => {
            return Completion {
                problem: Some(format!("{}: {e}", folder.display())),
                ..Completion::default()
            };
        }
    };
    let hidden = partial.starts_with('.');
    let mut entries: Vec<(String, bool)> = read
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().to_str()?.to_owned();
            if name.starts_with('.') && !hidden {
                return None;
            }
            // A link to a folder is a folder to the person typing.
            let is_dir = entry.path().is_dir();
            let wanted = is_dir
                || match want {
                    Want::Folders => false,
                    Want::Files([]) => true,
                    Want::Files(exts) => Path::new(&name)
                        .extension()
                        .and_then(|e| e.to_str())
                        .is_some_and(|e| exts.iter().any(|x| x.eq_ignore_ascii_case(e))),
                };
            wanted.then_some((name, is_dir))
        })
        .collect();
    let exact: Vec<&(String, bool)> = entries
        .iter()
        .filter(|(n, _)| n.starts_with(partial))
        .collect();
    let mut matched: Vec<(String, bool)> = if exact.is_empty() {
        let lower = partial.to_lowercase();
        entries.retain(|(n, _)| n.to_lowercase().starts_with(&lower));
        entries
    } else {
        exact.into_iter().cloned().collect()
    };
    matched.sort_by(|a, b| {
        b.1.cmp(&a.1)
            .then_with(|| a.0.to_lowercase().cmp(&b.0.to_lowercase()))
            .then_with(|| a.0.cmp(&b.0))
    });
    let truncated = matched.len() > MAX_CANDIDATES;
    matched.truncate(MAX_CANDIDATES);
    Completion {
        candidates: matched
            .into_iter()
            .map(|(name, is_dir)| {
                let name = if is_dir { format!("{name}/") } else { name };
                Candidate {
                    text: format!("{folder_text}{name}"),
                    name,
                    is_dir,
                }
            })
            .collect(),
        truncated,
        problem: None,
    }
}

/// The path the typed text names: `~` expanded, a relative path taken from `base`; `None`
/// for blank text.
#[must_use]
pub fn resolve(typed: &str, base: &Path) -> Option<PathBuf> {
    let typed = typed.trim();
    if typed.is_empty() {
        return None;
    }
    let path = expand_home(typed);
    Some(if path.is_absolute() {
        path
    } else {
        base.join(path)
    })
}

#[cfg(test)]
mod tests {
    // Test helpers panic on purpose: a failed unwrap is a failed test.
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for f in [
            "questions.json",
            "Questions-old.json",
            "quiz.txt",
            "video.mp4",
            ".hidden.json",
        ] {
            std::fs::write(dir.path().join(f), b"x").unwrap();
        }
        std::fs::create_dir(dir.path().join("queue")).unwrap();
        std::fs::write(dir.path().join("queue/inner.csv"), b"x").unwrap();
        dir
    }

    fn names(c: &Completion) -> Vec<&str> {
        c.candidates.iter().map(|c| c.name.as_str()).collect()
    }

    #[test]
    fn the_last_part_completes_from_its_folder_folders_first() {
        let dir = tree();
        let typed = format!("{}/qu", dir.path().display());
        let c = complete(&typed, Want::Files(&[]), Path::new("/"));
        assert_eq!(names(&c), ["queue/", "questions.json", "quiz.txt"]);
        assert_eq!(c.candidates[0].text, format!("{typed}eue/"));
        assert!(c.candidates[0].is_dir);
        // Tab extends as far as every candidate agrees: "qu" has nothing more in common.
        assert_eq!(c.common_text(&typed), typed);
        let typed = format!("{}/ques", dir.path().display());
        let c = complete(&typed, Want::Files(&[]), Path::new("/"));
        assert_eq!(
            c.common_text(&typed),
            format!("{}/questions.json", dir.path().display())
        );
    }

    #[test]
    fn extensions_and_folders_filter_and_case_is_a_fallback() {
        let dir = tree();
        let base = dir.path();
        let c = complete("", Want::Files(&["json", "csv"]), base);
        // Ignoring case, "questions-old" sorts before "questions." ('-' before '.').
        assert_eq!(
            names(&c),
            ["queue/", "Questions-old.json", "questions.json"]
        );
        assert_eq!(names(&complete("q", Want::Folders, base)), ["queue/"]);
        // "Q" matches one name exactly, so the lower-case ones are not offered.
        assert_eq!(
            names(&complete("Q", Want::Files(&[]), base)),
            ["Questions-old.json"]
        );
        // Nothing starts with "QUI" exactly: ignoring case finds quiz.txt.
        assert_eq!(
            names(&complete("QUI", Want::Files(&[]), base)),
            ["quiz.txt"]
        );
        // Hidden entries only when asked for with a dot.
        assert_eq!(
            names(&complete(".", Want::Files(&[]), base)),
            [".hidden.json"]
        );
        // Into a folder, relative to the base.
        let c = complete("queue/", Want::Files(&[]), base);
        assert_eq!(names(&c), ["inner.csv"]);
        assert_eq!(c.candidates[0].text, "queue/inner.csv");
    }

    #[test]
    fn a_missing_folder_says_why_and_home_expands() {
        let dir = tree();
        let c = complete("nowhere/x", Want::Files(&[]), dir.path());
        assert!(c.candidates.is_empty());
        assert!(c.problem.unwrap().contains("nowhere"));
        let home = std::env::var_os("HOME").map(PathBuf::from);
        if let Some(home) = home.filter(|h| h.is_absolute()) {
            assert_eq!(expand_home("~/a/b"), home.join("a/b"));
            assert_eq!(resolve(" ~/a ", Path::new("/x")), Some(home.join("a")));
        }
        assert_eq!(
            resolve("rel/f.json", Path::new("/x")),
            Some(PathBuf::from("/x/rel/f.json"))
        );
        assert_eq!(resolve("  ", Path::new("/x")), None);
    }

    #[test]
    fn a_huge_folder_lists_a_bounded_number() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..(MAX_CANDIDATES + 5) {
            std::fs::write(dir.path().join(format!("f{i:04}.json")), b"").unwrap();
        }
        let c = complete("f", Want::Files(&["json"]), dir.path());
        assert_eq!(c.candidates.len(), MAX_CANDIDATES);
        assert!(c.truncated);
        assert_eq!(c.candidates[0].name, "f0000.json");
    }
}
