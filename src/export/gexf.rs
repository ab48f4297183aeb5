//! The dynamic GEXF 1.3 writer (`gexf.net/1.3`, checked against the schema in
//! tests/export.rs). Time is the tick (`timeformat="integer"`), as inclusive intervals
//! (`timerepresentation="interval"`): every node has one spell from the first snapshot
//! to the last, a tie one spell per run of consecutive snapshots it is present in, and a
//! dynamic attribute one value per run of consecutive snapshots where it stays the same.
//! A column that never changes for any agent of the sample is a static attribute; the
//! tie weight is the dynamic edge attribute `weight` (the GEXF convention Gephi reads as
//! the edge weight over time), or the static `weight` of each edge when no weight
//! changes.

use super::{ends, runs, Export, Merge};
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;
use std::io::{Result, Write};

type W<'a> = Writer<&'a mut dyn Write>;

fn start(w: &mut W<'_>, tag: BytesStart<'_>) -> Result<()> {
    w.write_event(Event::Start(tag))
}

fn end(w: &mut W<'_>, name: &str) -> Result<()> {
    w.write_event(Event::End(BytesEnd::new(name)))
}

fn empty(w: &mut W<'_>, tag: BytesStart<'_>) -> Result<()> {
    w.write_event(Event::Empty(tag))
}

fn text_element(w: &mut W<'_>, name: &str, text: &str) -> Result<()> {
    start(w, BytesStart::new(name))?;
    w.write_event(Event::Text(BytesText::new(text)))?;
    end(w, name)
}

fn spell(w: &mut W<'_>, start_tick: u64, end_tick: u64) -> Result<()> {
    let (s, e) = (start_tick.to_string(), end_tick.to_string());
    empty(
        w,
        BytesStart::new("spell").with_attributes([("start", s.as_str()), ("end", e.as_str())]),
    )
}

fn attvalue(w: &mut W<'_>, id: &str, value: &str, span: Option<(u64, u64)>) -> Result<()> {
    let mut tag = BytesStart::new("attvalue").with_attributes([("for", id), ("value", value)]);
    if let Some((s, e)) = span {
        tag.push_attribute(("start", s.to_string().as_str()));
        tag.push_attribute(("end", e.to_string().as_str()));
    }
    empty(w, tag)
}

/// Write the GEXF of `data` to `out`; returns the number of edges written.
pub(super) fn write(out: &mut dyn Write, data: &Export<'_>) -> Result<u64> {
    let mut w: W<'_> = Writer::new_with_indent(out, b' ', 1);
    let ticks = data.ticks;
    let (first, last) = (ticks[0], ticks[ticks.len() - 1]);
    let nodes = &data.nodes;
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    start(
        &mut w,
        BytesStart::new("gexf")
            .with_attributes([("xmlns", "http://gexf.net/1.3"), ("version", "1.3")]),
    )?;
    let mut meta = BytesStart::new("meta");
    if let Some(date) = data.date() {
        meta.push_attribute(("lastmodifieddate", date.as_str()));
    }
    start(&mut w, meta)?;
    text_element(
        &mut w,
        "creator",
        &format!("emergence {}", env!("CARGO_PKG_VERSION")),
    )?;
    text_element(&mut w, "description", &data.description())?;
    end(&mut w, "meta")?;
    let (s, e) = (first.to_string(), last.to_string());
    start(
        &mut w,
        BytesStart::new("graph").with_attributes([
            ("mode", "dynamic"),
            ("defaultedgetype", "undirected"),
            ("timeformat", "integer"),
            ("timerepresentation", "interval"),
            ("start", s.as_str()),
            ("end", e.as_str()),
        ]),
    )?;

    // Attribute declarations: static, then dynamic, for nodes; the edge weight.
    for dynamic in [false, true] {
        let attrs: Vec<_> = nodes
            .attrs
            .iter()
            .filter(|a| a.dynamic == dynamic)
            .collect();
        if attrs.is_empty() {
            continue;
        }
        let mode = if dynamic { "dynamic" } else { "static" };
        start(
            &mut w,
            BytesStart::new("attributes").with_attributes([("class", "node"), ("mode", mode)]),
        )?;
        for a in attrs {
            empty(
                &mut w,
                BytesStart::new("attribute").with_attributes([
                    ("id", a.name.as_str()),
                    ("title", a.name.as_str()),
                    ("type", a.xml_type(nodes.data_type(a))),
                ]),
            )?;
        }
        end(&mut w, "attributes")?;
    }
    let weighted = data.run.tie_weight;
    // Whether some tie's weight differs between two snapshots it is present in.
    let dynamic_weight = weighted
        && Merge::new(&data.edges).any(|(_, present)| {
            present
                .windows(2)
                .any(|p| p[0].1.weight.to_bits() != p[1].1.weight.to_bits())
        });
    if dynamic_weight {
        start(
            &mut w,
            BytesStart::new("attributes").with_attributes([("class", "edge"), ("mode", "dynamic")]),
        )?;
        empty(
            &mut w,
            BytesStart::new("attribute").with_attributes([
                ("id", "weight"),
                ("title", "weight"),
                ("type", "float"),
            ]),
        )?;
        end(&mut w, "attributes")?;
    }

    let count = nodes.kept.to_string();
    start(
        &mut w,
        BytesStart::new("nodes").with_attributes([("count", count.as_str())]),
    )?;
    for (i, &id) in nodes.ids.iter().enumerate() {
        let id = id.to_string();
        // The label is the id too: Gephi shows labels, not ids.
        start(
            &mut w,
            BytesStart::new("node").with_attributes([("id", id.as_str()), ("label", id.as_str())]),
        )?;
        if !nodes.attrs.is_empty() {
            start(&mut w, BytesStart::new("attvalues"))?;
            for a in &nodes.attrs {
                if !a.dynamic {
                    attvalue(&mut w, &a.name, &nodes.text(a, 0, i), None)?;
                    continue;
                }
                // One value per run of snapshots where it stays the same.
                let mut k0 = 0;
                for k in 1..=ticks.len() {
                    if k == ticks.len() || !nodes.same(a, k0, k, i) {
                        let value = nodes.text(a, k0, i);
                        attvalue(&mut w, &a.name, &value, Some((ticks[k0], ticks[k - 1])))?;
                        k0 = k;
                    }
                }
            }
            end(&mut w, "attvalues")?;
        }
        start(&mut w, BytesStart::new("spells"))?;
        spell(&mut w, first, last)?;
        end(&mut w, "spells")?;
        end(&mut w, "node")?;
    }
    end(&mut w, "nodes")?;

    start(&mut w, BytesStart::new("edges"))?;
    let mut written = 0u64;
    for (key, present) in Merge::new(&data.edges) {
        let (src, dst) = ends(key);
        let (src, dst) = (src.to_string(), dst.to_string());
        let mut tag = BytesStart::new("edge")
            .with_attributes([("source", src.as_str()), ("target", dst.as_str())]);
        if weighted && !dynamic_weight {
            let weight = super::float_text(present[0].1.weight as f64, true);
            tag.push_attribute(("weight", weight.as_str()));
        }
        start(&mut w, tag)?;
        if dynamic_weight {
            start(&mut w, BytesStart::new("attvalues"))?;
            let mut j0 = 0;
            for j in 1..=present.len() {
                let breaks = j == present.len()
                    || present[j].0 != present[j - 1].0 + 1
                    || present[j].1.weight.to_bits() != present[j0].1.weight.to_bits();
                if breaks {
                    let value = super::float_text(present[j0].1.weight as f64, true);
                    let span = (ticks[present[j0].0], ticks[present[j - 1].0]);
                    attvalue(&mut w, "weight", &value, Some(span))?;
                    j0 = j;
                }
            }
            end(&mut w, "attvalues")?;
        }
        start(&mut w, BytesStart::new("spells"))?;
        let snapshots: Vec<usize> = present.iter().map(|p| p.0).collect();
        for (a, b) in runs(&snapshots) {
            spell(&mut w, ticks[a], ticks[b])?;
        }
        end(&mut w, "spells")?;
        end(&mut w, "edge")?;
        written += 1;
    }
    end(&mut w, "edges")?;
    end(&mut w, "graph")?;
    end(&mut w, "gexf")?;
    w.get_mut().write_all(b"\n")?;
    Ok(written)
}
