//! A channel built against `omnigate:plugin@9.0.0` (its own copy of the WIT
//! in `wit/`), which no omnigate release supports: the host must refuse it
//! at load with a message naming the version, and run none of its code.

#[allow(unsafe_code, missing_docs, clippy::all)]
mod bindings {
    wit_bindgen::generate!({ world: "channel", path: "wit" });
}

struct FutureInterface;

impl bindings::exports::omnigate::plugin::meta::Guest for FutureInterface {
    fn manifest() -> String {
        include_str!("../omnigate-plugin.toml").to_owned()
    }
}

impl bindings::exports::omnigate::plugin::channel_plugin::Guest for FutureInterface {
    fn parse_webhook(body: Vec<u8>) -> Vec<String> {
        vec![String::from_utf8_lossy(&body).into_owned()]
    }
}

bindings::export!(FutureInterface with_types_in bindings);
