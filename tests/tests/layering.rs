//! The machine layer's files form layers, not a web: no file of
//! `gort/src/kernel/arch/x86_64/` may reach itself through the files it uses
//! (`mod.rs`, which wires them together at boot, is left out). The order is
//! written in `mod.rs`'s essay; this test reads the sources, so a `use
//! super::...` that closes a cycle fails here, naming the cycle, before
//! anyone has to untangle it. (The scheduler's own two layers are checked by
//! `runtime`'s `the_bottom_layer_never_imports_the_scheduler`.)

use std::collections::BTreeMap;
use std::path::Path;

/// The sibling modules `source` names: `use super::x`, `use super::{x, y}`,
/// and paths `super::x::...`, comments left out.
fn uses(source: &str, modules: &[String]) -> Vec<String> {
    let code: String = source.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n");
    let mut found = Vec::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("super::") {
        rest = &rest[at + "super::".len()..];
        let names: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            group[..end].split(',').map(|n| n.trim().split("::").next().unwrap_or("")).collect()
        } else {
            vec![rest.split(|c: char| !(c.is_alphanumeric() || c == '_')).next().unwrap_or("")]
        };
        for name in names {
            if modules.iter().any(|m| m == name) && !found.iter().any(|f| f == name) {
                found.push(name.to_string());
            }
        }
    }
    found
}

/// A cycle in `graph`, as the path that closes it, if there is one.
fn find_cycle(graph: &BTreeMap<String, Vec<String>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    fn visit(
        node: &str,
        graph: &BTreeMap<String, Vec<String>>,
        marks: &mut BTreeMap<String, Mark>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        marks.insert(node.to_string(), Mark::OnPath);
        path.push(node.to_string());
        for next in &graph[node] {
            match marks[next.as_str()] {
                Mark::OnPath => {
                    let from = path.iter().position(|p| p == next).unwrap();
                    let mut cycle = path[from..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                Mark::New => {
                    if let Some(cycle) = visit(next, graph, marks, path) {
                        return Some(cycle);
                    }
                }
                Mark::Done => {}
            }
        }
        path.pop();
        marks.insert(node.to_string(), Mark::Done);
        None
    }
    let mut marks: BTreeMap<String, Mark> = graph.keys().map(|k| (k.clone(), Mark::New)).collect();
    for node in graph.keys() {
        if marks[node.as_str()] == Mark::New {
            if let Some(cycle) = visit(node, graph, &mut marks, &mut Vec::new()) {
                return Some(cycle);
            }
        }
    }
    None
}

fn graph_of(sources: &[(String, String)]) -> BTreeMap<String, Vec<String>> {
    let modules: Vec<String> = sources.iter().map(|(m, _)| m.clone()).collect();
    sources.iter().map(|(m, src)| (m.clone(), uses(src, &modules).into_iter().filter(|u| u != m).collect())).collect()
}

#[test]
fn the_machine_layer_has_no_import_cycles() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../gort/src/kernel/arch/x86_64");
    let mut sources = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.extension().is_some_and(|e| e == "rs") && name != "mod" {
            sources.push((name, std::fs::read_to_string(&path).unwrap()));
        }
    }
    assert!(sources.len() > 10, "found only {} files in {}", sources.len(), dir.display());
    let graph = graph_of(&sources);
    assert!(graph["trap"].contains(&"apic".to_string()), "the parser misses trap.rs's uses: {graph:?}");
    if let Some(cycle) = find_cycle(&graph) {
        panic!("import cycle in the machine layer: {}", cycle.join(" -> "));
    }
}

#[test]
fn a_cycle_is_found_and_named() {
    let src = |s: &str| s.to_string();
    let sources = vec![
        (src("a"), src("use super::{b, serial::Console};")),
        (src("b"), src("fn f() { super::c::g() } // super::a::h()")),
        (src("c"), src("use super::a;")),
        (src("serial"), src("")),
    ];
    let cycle = find_cycle(&graph_of(&sources)).expect("a -> b -> c -> a");
    assert_eq!(cycle, ["a", "b", "c", "a"]);
    let acyclic = vec![(src("a"), src("use super::b;")), (src("b"), src("// use super::a;"))];
    assert_eq!(find_cycle(&graph_of(&acyclic)), None);
}
