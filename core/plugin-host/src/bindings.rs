//! Host bindings generated from `plugin-sdk/wit`, the same files the guest
//! SDK reads. The host imports are generated once (world `imports`) and
//! shared by the three plugin worlds, so one set of `Host` impls serves
//! every kind. Every generated type also derives `Serialize`, which the
//! output cap uses (through postcard's encoding) to measure results
//! without a hand-written size walk.

#![allow(unsafe_code, missing_docs, clippy::all)]

/// The host imports every plugin world shares.
pub mod imports {
    wasmtime::component::bindgen!({
        world: "imports",
        path: "../../plugin-sdk/wit",
        additional_derives: [serde::Serialize, PartialEq],
    });
}

/// The `channel` world.
pub mod channel {
    wasmtime::component::bindgen!({
        world: "channel",
        path: "../../plugin-sdk/wit",
        additional_derives: [serde::Serialize, PartialEq],
        with: {
            "omnigate:plugin/http": crate::bindings::imports::omnigate::plugin::http,
            "omnigate:plugin/kv": crate::bindings::imports::omnigate::plugin::kv,
            "omnigate:plugin/config": crate::bindings::imports::omnigate::plugin::config,
            "omnigate:plugin/log": crate::bindings::imports::omnigate::plugin::log,
            "omnigate:plugin/clock": crate::bindings::imports::omnigate::plugin::clock,
            "omnigate:plugin/crypto": crate::bindings::imports::omnigate::plugin::crypto,
        },
    });
}

/// The `flow` world.
pub mod flow {
    wasmtime::component::bindgen!({
        world: "flow",
        path: "../../plugin-sdk/wit",
        additional_derives: [serde::Serialize, PartialEq],
        with: {
            "omnigate:plugin/http": crate::bindings::imports::omnigate::plugin::http,
            "omnigate:plugin/kv": crate::bindings::imports::omnigate::plugin::kv,
            "omnigate:plugin/config": crate::bindings::imports::omnigate::plugin::config,
            "omnigate:plugin/log": crate::bindings::imports::omnigate::plugin::log,
            "omnigate:plugin/clock": crate::bindings::imports::omnigate::plugin::clock,
            "omnigate:plugin/crypto": crate::bindings::imports::omnigate::plugin::crypto,
            "omnigate:plugin/types": crate::bindings::channel::omnigate::plugin::types,
        },
    });
}

/// The `commerce` world.
pub mod commerce {
    wasmtime::component::bindgen!({
        world: "commerce",
        path: "../../plugin-sdk/wit",
        additional_derives: [serde::Serialize, PartialEq],
        with: {
            "omnigate:plugin/http": crate::bindings::imports::omnigate::plugin::http,
            "omnigate:plugin/kv": crate::bindings::imports::omnigate::plugin::kv,
            "omnigate:plugin/config": crate::bindings::imports::omnigate::plugin::config,
            "omnigate:plugin/log": crate::bindings::imports::omnigate::plugin::log,
            "omnigate:plugin/clock": crate::bindings::imports::omnigate::plugin::clock,
            "omnigate:plugin/crypto": crate::bindings::imports::omnigate::plugin::crypto,
            "omnigate:plugin/types": crate::bindings::channel::omnigate::plugin::types,
            "omnigate:plugin/shop-types": crate::bindings::flow::omnigate::plugin::shop_types,
        },
    });
}
