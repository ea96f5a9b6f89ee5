//! Faulty plugins fail alone: each fault is named (plugin, function,
//! cause), counted, and the host serves the next call normally.

use std::time::{Duration, Instant};

use omnigate_plugin_host::types::Content;
use omnigate_plugin_host::types::channel::{OutboundMessage, ProviderError};
use omnigate_plugin_host::{Binding, Cause, HostConfig, Plugin, PluginError, Settings};

use crate::support::{Fixture, WHATSAPP_WEBHOOK, fixture, fixture_with, load, webhook};

fn settings() -> Binding {
    Binding::isolated(Settings::default())
}

fn parse_error(plugin: &Plugin) -> PluginError {
    match plugin.parse_webhook(&settings(), &webhook(WHATSAPP_WEBHOOK, Vec::new())) {
        Err(e) => e,
        Ok(answer) => panic!("expected a failure, got {answer:?}"),
    }
}

/// The host still runs a good plugin after a fault.
fn still_serves(f: &Fixture) {
    let good = load(f, "well-behaved");
    let answer = good.parse_webhook(&settings(), &webhook(WHATSAPP_WEBHOOK, Vec::new()));
    assert!(
        matches!(answer, Ok(Ok(ref events)) if events.len() == 2),
        "{answer:?}"
    );
}

#[test]
fn an_infinite_loop_is_interrupted_within_its_budget() {
    let f = fixture();
    let plugin = load(&f, "infinite-loop");
    let started = Instant::now();
    let error = parse_error(&plugin);
    let elapsed = started.elapsed();
    assert_eq!(error.plugin, "infinite-loop@0.1.0");
    assert_eq!(error.function, "parse-webhook");
    assert_eq!(
        error.cause,
        Cause::Timeout {
            budget: Duration::from_millis(200)
        }
    );
    assert!(elapsed >= Duration::from_millis(200), "{elapsed:?}");
    // Interrupted, not hung: the epoch ticks every few milliseconds, but a
    // loaded two-core machine can hold this thread off the CPU for a
    // while, so the bound only tells interruption from a hang.
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    assert!(error.to_string().contains("200 ms"), "{error}");
    assert_eq!(plugin.metrics().timeouts, 1);
    still_serves(&f);
}

#[test]
fn a_memory_bomb_stops_at_its_cap() {
    let f = fixture();
    let plugin = load(&f, "memory-bomb");
    let error = parse_error(&plugin);
    assert_eq!(error.function, "parse-webhook");
    assert_eq!(
        error.cause,
        Cause::MemoryCap {
            limit_bytes: 32 * 1024 * 1024
        }
    );
    assert_eq!(plugin.metrics().memory_caps, 1);
    still_serves(&f);
}

#[test]
fn a_panic_is_reported_with_plugin_function_and_message() {
    let f = fixture();
    let plugin = load(&f, "trap");
    let error = parse_error(&plugin);
    assert_eq!(error.plugin, "trap@0.1.0");
    assert_eq!(error.function, "parse-webhook");
    match &error.cause {
        Cause::Trap { message } => assert!(
            message.contains("deliberate panic in parse-webhook"),
            "{message}"
        ),
        other => panic!("{other:?}"),
    }
    let text = error.to_string();
    assert!(
        text.starts_with("plugin `trap@0.1.0` failed in `parse-webhook`"),
        "{text}"
    );
    still_serves(&f);
}

#[test]
fn a_forbidden_host_is_refused_naming_the_manifest_key() {
    let f = fixture();
    let plugin = load(&f, "forbidden-host");
    let message = OutboundMessage {
        recipient: "905321112233".into(),
        content: Content::Text("hi".into()),
        reply_to: None,
        idempotency_key: "k".into(),
        extensions: Vec::new(),
    };
    match plugin.send(&settings(), &message) {
        Ok(Err(ProviderError::Rejected(text))) => {
            assert!(text.contains("exfiltrate.example.net"), "{text}");
            assert!(text.contains("`allowed_hosts`"), "{text}");
        }
        other => panic!("{other:?}"),
    }
    let requests = f
        .http
        .requests
        .lock()
        .map(|r| r.len())
        .unwrap_or(usize::MAX);
    assert_eq!(
        requests, 0,
        "the embedder's client must never see the request"
    );
    assert_eq!(plugin.metrics().refused_hosts, 1);
    still_serves(&f);
}

#[test]
fn oversized_output_is_refused() {
    let f = fixture();
    let plugin = load(&f, "oversized-output");
    let error = parse_error(&plugin);
    assert_eq!(
        error.cause,
        Cause::OutputTooLarge {
            limit_bytes: 16 * 1024 * 1024
        }
    );
    assert_eq!(plugin.metrics().oversized, 1);
    still_serves(&f);
}

/// A fetched media file is the provider's file: bounded by the plugin's
/// memory budget (and, in the engine, by the channel's media limit), not
/// by the output cap, so a customer's large file never fails the call.
#[test]
fn fetched_media_is_not_held_to_the_output_cap() {
    let f = fixture_with(HostConfig {
        max_concurrent_calls: 8,
        max_output_bytes: 1024 * 1024,
        ..HostConfig::default()
    });
    let plugin = load(&f, "well-behaved");
    let binding = Binding::isolated(Settings::default());
    for _ in 0..6 {
        let fetched = plugin.fetch_media(&binding, "generated:3145728");
        assert!(
            matches!(&fetched, Ok(Ok(media)) if media.bytes.len() == 3 * 1024 * 1024),
            "{:?}",
            fetched.as_ref().map(|r| r.as_ref().map(|m| m.bytes.len()))
        );
    }
    assert_eq!(plugin.metrics().oversized, 0);
    assert!(!plugin.is_disabled());
}

#[test]
fn repeated_failures_trip_the_breaker_and_tell_the_admins() {
    let f = fixture_with(HostConfig {
        max_concurrent_calls: 4,
        breaker_threshold: 3,
        ..HostConfig::default()
    });
    let plugin = load(&f, "trap");
    for _ in 0..3 {
        assert!(matches!(parse_error(&plugin).cause, Cause::Trap { .. }));
    }
    assert!(plugin.is_disabled());
    assert_eq!(parse_error(&plugin).cause, Cause::Disabled { failures: 3 });
    let events = f
        .events
        .disabled
        .lock()
        .map(|e| e.clone())
        .unwrap_or_default();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].plugin, "trap@0.1.0");
    assert_eq!(events[0].failures, 3);
    assert!(events[0].last_error.contains("deliberate panic"));
    let metrics = plugin.metrics();
    // The refused call is not a plugin call: nothing ran.
    assert_eq!((metrics.calls, metrics.traps), (3, 3));
    plugin.enable();
    assert!(matches!(parse_error(&plugin).cause, Cause::Trap { .. }));
    still_serves(&f);
}

#[test]
fn a_warm_instance_is_discarded_after_a_fault() {
    let f = fixture();
    let plugin = load(&f, "trap");
    let binding = Binding::reusing(Settings::default(), 100);
    for _ in 0..2 {
        match plugin.parse_webhook(&binding, &webhook(WHATSAPP_WEBHOOK, Vec::new())) {
            // A fresh instance each time: the panic message is this call's.
            Err(PluginError {
                cause: Cause::Trap { message },
                ..
            }) => assert!(message.contains("deliberate panic"), "{message}"),
            other => panic!("{other:?}"),
        }
    }
    let looping = load(&f, "infinite-loop");
    for _ in 0..2 {
        let started = Instant::now();
        let answer = looping.parse_webhook(&binding, &webhook(WHATSAPP_WEBHOOK, Vec::new()));
        assert!(matches!(
            answer,
            Err(PluginError {
                cause: Cause::Timeout { .. },
                ..
            })
        ));
        // Interrupted, not hung (see the test above for the bound).
        assert!(started.elapsed() < Duration::from_secs(5));
    }
    still_serves(&f);
}

#[test]
fn a_full_pool_is_the_hosts_problem_not_the_plugins() {
    let f = fixture_with(HostConfig {
        max_concurrent_calls: 1,
        breaker_threshold: 1,
        ..HostConfig::default()
    });
    let plugin = load(&f, "well-behaved");
    let request = webhook(WHATSAPP_WEBHOOK, Vec::new());
    // A warm instance holds the only slot.
    let warm = Binding::reusing(Settings::default(), 100);
    assert!(matches!(plugin.parse_webhook(&warm, &request), Ok(Ok(_))));
    let other = settings();
    match plugin.parse_webhook(&other, &request) {
        Err(PluginError {
            cause: Cause::Host { message },
            ..
        }) => assert!(message.contains("cannot instantiate"), "{message}"),
        answer => panic!("{answer:?}"),
    }
    assert!(
        !plugin.is_disabled(),
        "a full pool must not trip the breaker"
    );
    drop(warm);
    assert!(matches!(plugin.parse_webhook(&other, &request), Ok(Ok(_))));
}
