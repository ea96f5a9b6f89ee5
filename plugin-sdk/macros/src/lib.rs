//! The export macros behind `omnigate_plugin_sdk::export_channel!` and its
//! siblings. Plugin authors use them through the SDK, never directly.
//!
//! Why a proc-macro crate: each plugin must embed exactly one world's
//! component-type section (a channel plugin that also carried the flow
//! world would be asked by `wit-component` for flow exports it lacks), so the
//! export glue is generated in the plugin crate. `wit_bindgen::generate!`
//! resolves relative paths against the *plugin's* manifest directory; this
//! crate knows where the WIT lives at its own build time and hands
//! `generate!` an absolute path, so out-of-tree plugins work too. No
//! dependencies: the output is assembled as text and parsed back.

use proc_macro::TokenStream;

/// The WIT package directory, resolved when this crate is built.
const WIT_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../wit");

/// The interface version every generated binding targets; the host reads it
/// back from the component's export names.
const PACKAGE: &str = "omnigate:plugin@0.1.2";

/// Exports a type implementing `omnigate_plugin_sdk::channel::Channel` as the
/// plugin's channel component, with its manifest embedded.
#[proc_macro]
pub fn export_channel(input: TokenStream) -> TokenStream {
    expand(
        input,
        Kind {
            world: "channel",
            interface: "channel-plugin",
            module: "channel_plugin",
            types: &["types", "channel-types"],
            imports: &["attachments"],
            glue: CHANNEL_GLUE,
        },
    )
}

/// Exports a type implementing `omnigate_plugin_sdk::flow::Flow` as the
/// plugin's flow component, with its manifest embedded.
#[proc_macro]
pub fn export_flow(input: TokenStream) -> TokenStream {
    expand(
        input,
        Kind {
            world: "flow",
            interface: "flow-plugin",
            module: "flow_plugin",
            types: &["types", "shop-types", "flow-types"],
            imports: &[],
            glue: FLOW_GLUE,
        },
    )
}

/// Exports a type implementing `omnigate_plugin_sdk::commerce::Commerce` as
/// the plugin's commerce component, with its manifest embedded.
#[proc_macro]
pub fn export_commerce(input: TokenStream) -> TokenStream {
    expand(
        input,
        Kind {
            world: "commerce",
            interface: "commerce-plugin",
            module: "commerce_plugin",
            types: &["types", "shop-types"],
            imports: &[],
            glue: COMMERCE_GLUE,
        },
    )
}

/// What differs between the plugin kinds.
struct Kind {
    world: &'static str,
    interface: &'static str,
    module: &'static str,
    /// Type-only interfaces the world references, mapped to the SDK's copies
    /// so plugin code and SDK helpers share one set of types.
    types: &'static [&'static str],
    /// Host imports only this kind's world has, also mapped to the SDK's
    /// bindings (`wit-bindgen` refuses a mapping the world does not use).
    imports: &'static [&'static str],
    /// The `Guest` impl forwarding to the SDK trait; `PLUGIN` stands for the
    /// user's type.
    glue: &'static str,
}

const SDK: &str = "::omnigate_plugin_sdk";

const CHANNEL_GLUE: &str = r#"
impl exports::omnigate::plugin::channel_plugin::Guest for Adapter {
    fn capabilities() -> SDK::channel::ChannelCapabilities {
        <PLUGIN as SDK::channel::Channel>::capabilities()
    }
    fn handshake(request: SDK::channel::WebhookRequest) -> SDK::channel::WebhookResponse {
        <PLUGIN as SDK::channel::Channel>::handshake(request)
    }
    fn parse_webhook(
        request: SDK::channel::WebhookRequest,
    ) -> Result<Vec<SDK::channel::InboundEvent>, SDK::channel::WebhookError> {
        <PLUGIN as SDK::channel::Channel>::parse_webhook(request)
    }
    fn send(
        message: SDK::channel::OutboundMessage,
    ) -> Result<SDK::channel::Sent, SDK::channel::ProviderError> {
        <PLUGIN as SDK::channel::Channel>::send(message)
    }
    fn fetch_media(
        reference: String,
    ) -> Result<SDK::channel::FetchedMedia, SDK::channel::ProviderError> {
        <PLUGIN as SDK::channel::Channel>::fetch_media(reference)
    }
    fn list_templates() -> Result<Vec<SDK::channel::TemplateInfo>, SDK::channel::ProviderError> {
        <PLUGIN as SDK::channel::Channel>::list_templates()
    }
}
"#;

const FLOW_GLUE: &str = r#"
impl exports::omnigate::plugin::flow_plugin::Guest for Adapter {
    fn start(
        context: SDK::flow::FlowContext,
        message: SDK::types::Content,
    ) -> Result<SDK::flow::Step, SDK::flow::FlowError> {
        <PLUGIN as SDK::flow::Flow>::start(context, message)
    }
    fn resume(
        context: SDK::flow::FlowContext,
        state: Vec<u8>,
        event: SDK::flow::FlowEvent,
    ) -> Result<SDK::flow::Step, SDK::flow::FlowError> {
        <PLUGIN as SDK::flow::Flow>::resume(context, state, event)
    }
}
"#;

const COMMERCE_GLUE: &str = r#"
impl exports::omnigate::plugin::commerce_plugin::Guest for Adapter {
    fn search_products(query: String, limit: u32)
        -> Result<Vec<SDK::commerce::Product>, SDK::commerce::ShopError> {
        <PLUGIN as SDK::commerce::Commerce>::search_products(query, limit)
    }
    fn orders_by_customer(customer: SDK::commerce::CustomerRef, limit: u32)
        -> Result<Vec<SDK::commerce::Order>, SDK::commerce::ShopError> {
        <PLUGIN as SDK::commerce::Commerce>::orders_by_customer(customer, limit)
    }
    fn get_order(order_id: String)
        -> Result<Option<SDK::commerce::Order>, SDK::commerce::ShopError> {
        <PLUGIN as SDK::commerce::Commerce>::get_order(order_id)
    }
    fn allowed_actions(order_id: String)
        -> Result<Vec<SDK::commerce::OrderAction>, SDK::commerce::ShopError> {
        <PLUGIN as SDK::commerce::Commerce>::allowed_actions(order_id)
    }
    fn perform_action(order_id: String, action_id: String)
        -> Result<String, SDK::commerce::ShopError> {
        <PLUGIN as SDK::commerce::Commerce>::perform_action(order_id, action_id)
    }
}
"#;

/// Builds the module that generates the world's export bindings, forwards
/// them to the user's type and exports the embedded manifest.
fn expand(input: TokenStream, kind: Kind) -> TokenStream {
    let plugin = input.to_string();
    if plugin.trim().is_empty() {
        return compile_error(&format!(
            "export_{}! needs the type that implements the plugin, e.g. `export_{}!(MyPlugin);`",
            kind.world, kind.world
        ));
    }
    let package = PACKAGE;
    let (namespace_and_name, version) = package.split_once('@').unwrap_or((package, ""));
    let mut with = String::new();
    for name in kind
        .types
        .iter()
        .chain(["http", "kv", "config", "log", "clock", "crypto"].iter())
        .chain(kind.imports.iter())
    {
        let module = name.replace('-', "_");
        with.push_str(&format!(
            "\"{namespace_and_name}/{name}@{version}\": {SDK}::bindings::omnigate::plugin::{module},\n"
        ));
    }
    let glue = kind
        .glue
        .replace("SDK", SDK)
        .replace("PLUGIN", "super::__OmnigatePlugin");
    let module = kind.module;
    let interface = kind.interface;
    let world = kind.world;
    let source = format!(
        r#"
#[doc(hidden)]
type __OmnigatePlugin = {plugin};

#[doc(hidden)]
#[allow(missing_docs, unsafe_code, clippy::all)]
mod __omnigate_export_{module} {{
    {SDK}::__private::wit_bindgen::generate!({{
        world: "{namespace_and_name}/{world}@{version}",
        path: {wit_dir:?},
        runtime_path: "{SDK}::__private::wit_bindgen::rt",
        with: {{
            {with}
        }},
    }});

    /// Forwards the generated `{interface}` exports to the plugin's type.
    struct Adapter;

    {glue}

    impl exports::omnigate::plugin::meta::Guest for Adapter {{
        fn manifest() -> String {{
            ::std::string::String::from(include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/omnigate-plugin.toml"
            )))
        }}
    }}

    export!(Adapter with_types_in self);
}}
"#,
        wit_dir = WIT_DIR,
    );
    source
        .parse()
        .unwrap_or_else(|e| compile_error(&format!("omnigate export macro: {e}")))
}

fn compile_error(message: &str) -> TokenStream {
    format!("compile_error!({message:?});")
        .parse()
        .unwrap_or_default()
}
