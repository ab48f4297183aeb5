//! The GraphML writer: one snapshot as a static, undirected graph. Every per-agent
//! column is a node key (with `<event>` beside each `<event>_at`, as in the GEXF), the
//! tie weight and age are edge keys where the run keeps them. Node ids are the agent ids.

use super::{ends, Export, Merge};
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

fn key(w: &mut W<'_>, id: &str, target: &str, name: &str, ty: &str) -> Result<()> {
    w.write_event(Event::Empty(BytesStart::new("key").with_attributes([
        ("id", id),
        ("for", target),
        ("attr.name", name),
        ("attr.type", ty),
    ])))
}

fn data_element(w: &mut W<'_>, id: &str, value: &str) -> Result<()> {
    start(w, BytesStart::new("data").with_attributes([("key", id)]))?;
    w.write_event(Event::Text(BytesText::new(value)))?;
    end(w, "data")
}

/// Write the GraphML of `data` (one snapshot) to `out`; returns the number of edges.
pub(super) fn write(out: &mut dyn Write, data: &Export<'_>) -> Result<u64> {
    debug_assert_eq!(data.ticks.len(), 1);
    let mut w: W<'_> = Writer::new_with_indent(out, b' ', 1);
    let nodes = &data.nodes;
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    start(
        &mut w,
        BytesStart::new("graphml").with_attributes([
            ("xmlns", "http://graphml.graphdrawing.org/xmlns"),
            ("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"),
            (
                "xsi:schemaLocation",
                "http://graphml.graphdrawing.org/xmlns http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd",
            ),
        ]),
    )?;
    let ids: Vec<String> = (0..nodes.attrs.len()).map(|k| format!("d{k}")).collect();
    for (a, id) in nodes.attrs.iter().zip(&ids) {
        key(&mut w, id, "node", &a.name, a.xml_type(nodes.data_type(a)))?;
    }
    let (weight, age) = (data.run.tie_weight, data.run.tie_age);
    if weight {
        key(&mut w, "weight", "edge", "weight", "float")?;
    }
    if age {
        key(&mut w, "age", "edge", "age", "long")?;
    }
    let description = data.description();
    start(
        &mut w,
        BytesStart::new("graph").with_attributes([
            ("id", format!("tick-{}", data.ticks[0]).as_str()),
            ("edgedefault", "undirected"),
        ]),
    )?;
    w.write_event(Event::Comment(quick_xml::events::BytesText::new(&format!(
        " {} ",
        description.replace("--", "-")
    ))))?;
    for (i, &agent) in nodes.ids.iter().enumerate() {
        let agent = agent.to_string();
        start(
            &mut w,
            BytesStart::new("node").with_attributes([("id", agent.as_str())]),
        )?;
        for (a, id) in nodes.attrs.iter().zip(&ids) {
            data_element(&mut w, id, &nodes.text(a, 0, i))?;
        }
        end(&mut w, "node")?;
    }
    let mut written = 0u64;
    for (k, present) in Merge::new(&data.edges) {
        let (src, dst) = ends(k);
        let (src, dst) = (src.to_string(), dst.to_string());
        let row = present[0].1;
        start(
            &mut w,
            BytesStart::new("edge")
                .with_attributes([("source", src.as_str()), ("target", dst.as_str())]),
        )?;
        if weight {
            data_element(
                &mut w,
                "weight",
                &super::float_text(row.weight as f64, true),
            )?;
        }
        if age {
            data_element(&mut w, "age", &row.age.to_string())?;
        }
        end(&mut w, "edge")?;
        written += 1;
    }
    end(&mut w, "graph")?;
    end(&mut w, "graphml")?;
    w.get_mut().write_all(b"\n")?;
    Ok(written)
}
