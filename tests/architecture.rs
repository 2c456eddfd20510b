//! The crate's module map, checked from its sources: no import cycle between the top-level
//! modules of `src/`, and no egui outside `src/app/`.
//!
//! A cycle means two modules can only be understood (and moved, or split into crates) together;
//! the layering the README draws is only true while this test passes. The check reads source
//! text rather than compiler output so it runs in milliseconds with no extra tooling.

// Test helpers panic on purpose: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Where one module refers to another: the file and its 1-based line.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Site {
    file: String,
    line_number: usize,
}

/// Edges between top-level modules, each with every place that makes it.
type Graph = BTreeMap<String, BTreeMap<String, Vec<Site>>>;

/// One source file: its path relative to the crate root (with `/`) and its text.
struct Source {
    path: String,
    text: String,
}

#[test]
fn top_level_modules_have_no_import_cycle() {
    let sources = read_sources();
    let graph = module_graph(&sources);
    let cycles = find_cycles(&graph);
    assert!(
        cycles.is_empty(),
        "import cycles between top-level modules of src/:\n{}",
        describe_cycles(&graph, &cycles)
    );
}

#[test]
fn only_the_app_module_uses_egui() {
    // main.rs only calls `taskmem::app::run_native`, so no file outside src/app/ is exempt.
    let offenders: Vec<String> = read_sources()
        .iter()
        .filter(|source| !source.path.starts_with("src/app/"))
        .flat_map(|source| {
            egui_lines(&strip_comments_and_literals(&source.text))
                .into_iter()
                .map(|line_number| format!("{}:{line_number}", source.path))
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "egui or eframe outside src/app/:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn the_cycle_check_sees_a_cycle_through_a_grouped_use() {
    let sources = [
        source("src/a/mod.rs", "use crate::{b::Thing, c};\n"),
        source(
            "src/b.rs",
            "\n// crate::a in a comment is no edge\nfn f() { crate::c::g(); }\n",
        ),
        source(
            "src/c/deep/x.rs",
            "pub use crate::a::{self as _};\nconst S: &str = \"crate::b\";\n",
        ),
    ];
    let graph = module_graph(&sources);
    let cycles = find_cycles(&graph);
    assert_eq!(
        cycles,
        vec![
            vec!["a".to_string(), "b".to_string(), "c".to_string()],
            vec!["a".to_string(), "c".to_string()]
        ]
    );
    let text = describe_cycles(&graph, &cycles);
    assert!(text.contains("a -> b -> c -> a"), "{text}");
    assert!(text.contains("b -> c  src/b.rs:3"), "{text}");
    assert!(
        !text.contains("c -> b"),
        "a string literal made an edge: {text}"
    );
}

#[test]
fn the_egui_check_ignores_comments_and_strings() {
    let code =
        strip_comments_and_literals("// egui\nlet s = \"eframe\";\n/* egui */ use egui::Ui;\n");
    assert_eq!(egui_lines(&code), vec![3]);
}

fn source(path: &str, text: &str) -> Source {
    Source {
        path: path.to_string(),
        text: text.to_string(),
    }
}

/// Every `.rs` file under `src/`, in a stable order.
fn read_sources() -> Vec<Source> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = Vec::new();
    collect_rs_files(&root.join("src"), &mut paths);
    paths.sort();
    paths
        .into_iter()
        .map(|path| Source {
            text: std::fs::read_to_string(&path).unwrap(),
            path: path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/"),
        })
        .collect()
}

fn collect_rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_rs_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to; `None` for the crate roots and files not under `src/`.
fn top_module(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("src/")?;
    match rest.split_once('/') {
        Some((module, _)) => Some(module),
        None if rest == "lib.rs" || rest == "main.rs" => None,
        None => rest.strip_suffix(".rs"),
    }
}

fn module_graph(sources: &[Source]) -> Graph {
    let modules: BTreeSet<&str> = sources.iter().filter_map(|s| top_module(&s.path)).collect();
    let mut graph = Graph::new();
    for source in sources {
        let Some(from) = top_module(&source.path) else {
            continue;
        };
        let code = strip_comments_and_literals(&source.text);
        for (target, line_number) in crate_references(&code) {
            if target != from && modules.contains(target.as_str()) {
                let site = Site {
                    file: source.path.clone(),
                    line_number,
                };
                graph
                    .entry(from.to_string())
                    .or_default()
                    .entry(target)
                    .or_default()
                    .push(site);
            }
        }
    }
    graph
}

/// The source with comments, string and char literals blanked to spaces; newlines are kept so
/// line numbers still match the file.
fn strip_comments_and_literals(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let end = literal_or_comment_end(&chars, i);
        if end > i {
            out.extend(
                chars[i..end]
                    .iter()
                    .map(|&c| if c == '\n' { '\n' } else { ' ' }),
            );
            i = end;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// If a comment or literal starts at `i`, the index just past it; otherwise `i`.
fn literal_or_comment_end(chars: &[char], i: usize) -> usize {
    let at = |k: usize| chars.get(k).copied().unwrap_or('\0');
    let ident_before = |k: usize| k > 0 && is_ident_char(chars[k - 1]);
    // `br"..."` is a raw string too: its `r` follows a `b` that starts no identifier.
    let byte_prefix = i > 0 && chars[i - 1] == 'b' && !ident_before(i - 1);
    let after_ident = ident_before(i) && !byte_prefix;
    match (at(i), at(i + 1)) {
        ('/', '/') => find_from(chars, i, '\n'),
        ('/', '*') => block_comment_end(chars, i),
        ('"', _) => quoted_end(chars, i + 1, '"'),
        ('r', '"' | '#') if !after_ident => raw_string_end(chars, i + 1),
        ('b', '\'') if !after_ident => quoted_end(chars, i + 2, '\''),
        ('\'', c) if at(i + 2) == '\'' || c == '\\' => quoted_end(chars, i + 1, '\''),
        _ => i,
    }
}

fn find_from(chars: &[char], start: usize, wanted: char) -> usize {
    chars[start..]
        .iter()
        .position(|&c| c == wanted)
        .map_or(chars.len(), |k| start + k)
}

fn block_comment_end(chars: &[char], start: usize) -> usize {
    let mut depth = 0usize;
    let mut i = start;
    while i + 1 < chars.len() {
        match (chars[i], chars[i + 1]) {
            ('/', '*') => (depth, i) = (depth + 1, i + 2),
            ('*', '/') if depth == 1 => return i + 2,
            ('*', '/') => (depth, i) = (depth - 1, i + 2),
            _ => i += 1,
        }
    }
    chars.len()
}

/// Past the closing `quote` of a literal whose body starts at `start`, honouring escapes.
fn quoted_end(chars: &[char], start: usize, quote: char) -> usize {
    let mut i = start;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            c if c == quote => return i + 1,
            _ => i += 1,
        }
    }
    chars.len()
}

/// Past a raw string `r#"..."#` whose hashes start at `start`; `start` itself if it is none.
fn raw_string_end(chars: &[char], start: usize) -> usize {
    let hashes = chars[start..].iter().take_while(|&&c| c == '#').count();
    if chars.get(start + hashes) != Some(&'"') {
        return start - 1;
    }
    let closing: Vec<char> = std::iter::once('"')
        .chain(std::iter::repeat_n('#', hashes))
        .collect();
    let body = start + hashes + 1;
    (body..chars.len())
        .find(|&k| chars[k..].starts_with(&closing))
        .map_or(chars.len(), |k| k + closing.len())
}

/// Every module named right after `crate::`, grouped uses included, with its line. `super::`
/// paths are not read: no file uses one to climb out of its top-level module (a `super::` at
/// the top of `src/<m>.rs` or `src/<m>/mod.rs` would), and `crate::` is the house style.
fn crate_references(code: &str) -> Vec<(String, usize)> {
    let chars: Vec<char> = code.chars().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while let Some(k) = find_word(&chars, i, "crate") {
        i = k + "crate".len();
        if k > 0 && chars[k - 1] == '$' {
            continue;
        }
        let Some(after) = skip_path_separator(&chars, i) else {
            continue;
        };
        let line_number = line_of(&chars, k);
        if chars.get(after) == Some(&'{') {
            found.extend(
                group_heads(&chars, after)
                    .into_iter()
                    .map(|m| (m, line_number)),
            );
        } else if let Some(name) = ident_at(&chars, after) {
            found.push((name, line_number));
        }
    }
    found
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The next `word` at or after `from` that is a whole identifier.
fn find_word(chars: &[char], from: usize, word: &str) -> Option<usize> {
    let word: Vec<char> = word.chars().collect();
    (from..chars.len()).find(|&k| {
        chars[k..].starts_with(&word)
            && (k == 0 || !is_ident_char(chars[k - 1]))
            && !chars
                .get(k + word.len())
                .copied()
                .is_some_and(is_ident_char)
    })
}

fn skip_whitespace(chars: &[char], mut i: usize) -> usize {
    while chars.get(i).is_some_and(|c| c.is_whitespace()) {
        i += 1;
    }
    i
}

/// Past `::` (with any whitespace around it) at `i`, or `None` if there is none.
fn skip_path_separator(chars: &[char], i: usize) -> Option<usize> {
    let i = skip_whitespace(chars, i);
    chars[i..]
        .starts_with(&[':', ':'])
        .then(|| skip_whitespace(chars, i + 2))
}

fn ident_at(chars: &[char], i: usize) -> Option<String> {
    let name: String = chars[i..]
        .iter()
        .take_while(|&&c| is_ident_char(c))
        .collect();
    (!name.is_empty()).then_some(name)
}

/// The first path segment of each item in the `{...}` group opening at `open`.
fn group_heads(chars: &[char], open: usize) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 0usize;
    let mut expecting_head = true;
    for (k, &c) in chars.iter().enumerate().skip(open) {
        match c {
            '{' => depth += 1,
            '}' if depth == 1 => break,
            '}' => depth -= 1,
            ',' if depth == 1 => expecting_head = true,
            c if depth == 1 && expecting_head && is_ident_char(c) => {
                expecting_head = false;
                heads.extend(ident_at(chars, k).filter(|name| name != "self"));
            }
            _ => {}
        }
    }
    heads
}

fn line_of(chars: &[char], index: usize) -> usize {
    1 + chars[..index].iter().filter(|&&c| c == '\n').count()
}

/// Lines whose code names an `egui*` or `eframe` identifier.
fn egui_lines(code: &str) -> Vec<usize> {
    code.lines()
        .enumerate()
        .filter(|(_, line)| {
            line.split(|c: char| !is_ident_char(c))
                .any(|word| word.starts_with("egui") || word == "eframe")
        })
        .map(|(index, _)| index + 1)
        .collect()
}

/// One shortest cycle through every edge that lies on a cycle, each written from its smallest
/// module so the same cycle found from two edges is listed once.
fn find_cycles(graph: &Graph) -> Vec<Vec<String>> {
    let mut cycles = BTreeSet::new();
    for (from, targets) in graph {
        for to in targets.keys() {
            // The path runs `to` ... `from`; the edge itself closes it.
            if let Some(path) = shortest_path(graph, to, from) {
                cycles.insert(rotate_to_smallest(path));
            }
        }
    }
    cycles.into_iter().collect()
}

/// Breadth-first: the modules from `start` to `goal`, both included.
fn shortest_path(graph: &Graph, start: &str, goal: &str) -> Option<Vec<String>> {
    let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        if node == goal {
            let mut path = vec![goal.to_string()];
            let mut at = goal;
            while at != start {
                at = came_from[at];
                path.push(at.to_string());
            }
            path.reverse();
            return Some(path);
        }
        for next in graph.get(node).into_iter().flat_map(BTreeMap::keys) {
            if next != start && !came_from.contains_key(next.as_str()) {
                came_from.insert(next, node);
                queue.push_back(next);
            }
        }
    }
    None
}

fn rotate_to_smallest(mut cycle: Vec<String>) -> Vec<String> {
    let smallest = (0..cycle.len()).min_by_key(|&k| &cycle[k]).unwrap_or(0);
    cycle.rotate_left(smallest);
    cycle
}

/// Each cycle as `a -> b -> a`, then each of its edges with every file and line that makes it.
fn describe_cycles(graph: &Graph, cycles: &[Vec<String>]) -> String {
    let mut text = String::new();
    for cycle in cycles {
        let closed: Vec<&str> = cycle
            .iter()
            .chain(cycle.first())
            .map(String::as_str)
            .collect();
        writeln!(text, "{}", closed.join(" -> ")).unwrap();
        for pair in closed.windows(2) {
            let sites = &graph[pair[0]][pair[1]];
            let places: Vec<String> = sites
                .iter()
                .map(|s| format!("{}:{}", s.file, s.line_number))
                .collect();
            writeln!(text, "  {} -> {}  {}", pair[0], pair[1], places.join(", ")).unwrap();
        }
    }
    text
}
