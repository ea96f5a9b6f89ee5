//! Reading WCF's XML by local name: stores' WSDLs differ in the
//! DataContract namespace (reference §4 [M]), so namespaces are ignored on
//! the way in, as the reference advises.

use roxmltree::{Document, Node};

/// Text escaped for an XML element.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// The children of `node` named `name`.
pub fn children<'a, 'input>(
    node: Node<'a, 'input>,
    name: &'a str,
) -> impl Iterator<Item = Node<'a, 'input>> + 'a {
    node.children()
        .filter(move |c| c.is_element() && c.tag_name().name() == name)
}

/// The first child of `node` named `name`.
pub fn child<'a, 'input>(node: Node<'a, 'input>, name: &str) -> Option<Node<'a, 'input>> {
    node.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

/// The trimmed text of child `name`; `None` when absent, `i:nil` or empty.
pub fn text(node: Node<'_, '_>, name: &str) -> Option<String> {
    let element = child(node, name)?;
    let nil = element
        .attributes()
        .any(|a| a.name() == "nil" && a.value() == "true");
    if nil {
        return None;
    }
    let text: String = element
        .children()
        .filter(Node::is_text)
        .filter_map(|t| t.text())
        .collect();
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// The first element named `name` anywhere in `document`.
pub fn find<'a, 'input>(document: &'a Document<'input>, name: &str) -> Option<Node<'a, 'input>> {
    document
        .descendants()
        .find(|n| n.is_element() && n.tag_name().name() == name)
}

/// A SOAP fault's code and message.
pub struct Fault {
    pub code: String,
    pub message: String,
}

/// The `s:Fault` of a response, if it is one.
pub fn fault(body: &str) -> Option<Fault> {
    let document = Document::parse(body).ok()?;
    let fault = find(&document, "Fault")?;
    Some(Fault {
        code: text(fault, "faultcode").unwrap_or_default(),
        message: text(fault, "faultstring").unwrap_or_else(|| "SOAP fault".to_owned()),
    })
}

/// The message of a result that says `IsError` = true.
pub fn result_error(body: &str) -> Option<String> {
    let document = Document::parse(body).ok()?;
    let flag = find(&document, "IsError")?;
    if flag.text().map(str::trim) != Some("true") {
        return None;
    }
    let parent = flag.parent()?;
    Some(
        text(parent, "ErrorMessage")
            .or_else(|| text(parent, "ErrorCode"))
            .unwrap_or_else(|| "the store reported an error".to_owned()),
    )
}
