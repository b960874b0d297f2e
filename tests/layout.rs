//! The house rules of the source tree, checked rather than hoped for (docs/ARCHITECTURE.md): no import
//! circle among the modules under `src/` (the pure core and the wasm glue alike), and no source file
//! over 900 lines — growth goes into a folder per concept, not into one long file.
//!
//! The import graph is read from the text: every `crate::a::…` path and `use crate::{a, b}` group, and
//! `super::x` inside a folder, outside `#[cfg(test)]` modules and comments. A module in a folder counts
//! as its own node (`room::roster`), so a folder's files may use their parent's items (that is what a
//! folder is for), but two sibling modules may not need each other.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_LINES: usize = 900;

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/room/roster.rs` → `room::roster`; `src/room/mod.rs` → `room`; `src/lib.rs` → ``.
fn module_of(src: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts.join("::")
}

/// The text that counts for imports: without line comments and without a trailing test module.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every module `module` names: `crate::a::b` → the longest known prefix (`a::b` or `a`).
fn imports(module: &str, code: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let resolve = |path: &str| -> Option<String> {
        let parts: Vec<&str> = path.split("::").filter(|p| !p.is_empty()).collect();
        (1..=parts.len())
            .rev()
            .map(|n| parts[..n].join("::"))
            .find(|p| known.contains(p))
    };
    let mut found = BTreeSet::new();
    let words = |s: &str| -> Vec<String> {
        s.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect()
    };
    // `crate::a::b…` anywhere, and each name of a `use crate::{a, b::c}` group.
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let body = &group[..group.find('}').unwrap_or(group.len())];
            for item in body.split(',') {
                if let Some(m) = resolve(item.trim()) {
                    found.insert(m);
                }
            }
        } else if let Some(first) = words(rest).into_iter().next() {
            if let Some(m) = resolve(&first) {
                found.insert(m);
            }
        }
    }
    // `super::x…` inside a folder module names a sibling (or the parent itself).
    let parent = module.rsplit_once("::").map_or("", |(p, _)| p);
    for (i, _) in code.match_indices("super::") {
        let rest = &code[i + "super::".len()..];
        if let Some(first) = words(rest).into_iter().next() {
            let full = if parent.is_empty() {
                first
            } else {
                format!("{parent}::{first}")
            };
            if let Some(m) = resolve(&full) {
                found.insert(m);
            }
        }
    }
    found.remove(module);
    // A folder's files may use their parent's items; the parent declares (and so names) its files.
    found.remove(parent);
    found.retain(|m| !m.starts_with(&format!("{module}::")));
    found
}

/// The modules on a cycle, if any (depth-first search with colours).
fn a_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_string(), 1);
        stack.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next.as_str()).copied().unwrap_or(0) {
                1 => {
                    let from = stack.iter().position(|n| n == next).unwrap();
                    let mut cycle = stack[from..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                0 => {
                    if let Some(c) = visit(next, graph, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(node.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if state.get(node.as_str()).copied().unwrap_or(0) == 0 {
            if let Some(c) = visit(node, graph, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

fn tree() -> (PathBuf, Vec<PathBuf>) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    files.sort();
    (src, files)
}

#[test]
fn no_module_under_src_imports_one_that_imports_it_back() {
    let (src, files) = tree();
    let known: BTreeSet<String> = files.iter().map(|f| module_of(&src, f)).collect();
    let graph: BTreeMap<String, BTreeSet<String>> = files
        .iter()
        .map(|f| {
            let module = module_of(&src, f);
            let code = code_of(&std::fs::read_to_string(f).unwrap());
            let deps = imports(&module, &code, &known);
            (module, deps)
        })
        .collect();
    assert!(graph.len() > 20, "the tree was read: {graph:?}");
    assert!(
        graph["room"].contains("domain"),
        "imports are found: {:?}",
        graph["room"]
    );
    if let Some(cycle) = a_cycle(&graph) {
        panic!("an import circle: {}", cycle.join(" → "));
    }
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec![]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(
        a_cycle(&graph),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
}

#[test]
fn no_source_file_is_over_900_lines() {
    let (_, files) = tree();
    let long: Vec<String> = files
        .iter()
        .map(|f| (f, std::fs::read_to_string(f).unwrap().lines().count()))
        .filter(|(_, n)| *n > MAX_LINES)
        .map(|(f, n)| format!("{} ({n} lines)", f.display()))
        .collect();
    assert!(long.is_empty(), "over {MAX_LINES} lines: {long:?}");
}
