//! The well-behaved channel: webhooks parse, handshakes answer, sends go
//! out through the embedder's client to the allowed host only.

use omnigate_plugin_host::types::channel::{
    InboundEvent, OutboundMessage, ProviderError, WebhookError,
};
use omnigate_plugin_host::types::{Content, DeliveryStatus};
use omnigate_plugin_host::{Binding, Settings};

use crate::support::{WHATSAPP_WEBHOOK, fixture, load, webhook};

fn sign(secret: &str, body: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = match Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(e) => panic!("{e}"),
    };
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[test]
fn parses_a_signed_whatsapp_webhook() {
    let f = fixture();
    let plugin = load(&f, "well-behaved");
    assert_eq!(plugin.id(), "well-behaved@0.1.0");
    let mut settings = Settings::default();
    settings
        .secrets
        .insert("app_secret".into(), "s3cret".into());
    let settings = Binding::isolated(settings);

    let signed = webhook(
        WHATSAPP_WEBHOOK,
        vec![(
            "x-hub-signature-256".into(),
            sign("s3cret", WHATSAPP_WEBHOOK),
        )],
    );
    let events = match plugin.parse_webhook(&settings, &signed) {
        Ok(Ok(events)) => events,
        other => panic!("{other:?}"),
    };
    assert_eq!(events.len(), 2);
    match &events[0] {
        InboundEvent::Message(m) => {
            assert_eq!(m.provider_message_id, "wamid.HBgM1");
            assert_eq!(m.contact.external_id, "905321112233");
            assert_eq!(m.contact.display_name.as_deref(), Some("Ayşe Y."));
            assert_eq!(m.sent_at_ms, 1_749_416_383_000);
            assert_eq!(
                m.content,
                Content::Text("Merhaba, siparişim nerede?".into())
            );
        }
        other => panic!("{other:?}"),
    }
    match &events[1] {
        InboundEvent::Status(s) => {
            assert_eq!(s.provider_message_id, "wamid.OUT1");
            assert_eq!(s.status, DeliveryStatus::Delivered);
        }
        other => panic!("{other:?}"),
    }

    let forged = webhook(
        WHATSAPP_WEBHOOK,
        vec![(
            "x-hub-signature-256".into(),
            sign("wrong", WHATSAPP_WEBHOOK),
        )],
    );
    assert!(matches!(
        plugin.parse_webhook(&settings, &forged),
        Ok(Err(WebhookError::Unauthenticated(_)))
    ));
    let metrics = plugin.metrics();
    assert_eq!((metrics.calls, metrics.errors), (2, 0));
}

#[test]
fn answers_the_subscription_handshake() {
    let f = fixture();
    let plugin = load(&f, "well-behaved");
    let mut settings = Settings::default();
    settings.config.insert("verify_token".into(), "tok".into());
    let settings = Binding::isolated(settings);
    let mut request = webhook("", Vec::new());
    request.method = "GET".into();
    request.query = vec![
        ("hub.mode".into(), "subscribe".into()),
        ("hub.verify_token".into(), "tok".into()),
        ("hub.challenge".into(), "1158201444".into()),
    ];
    let answer = plugin.handshake(&settings, &request);
    assert!(
        matches!(&answer, Ok(r) if r.status == 200 && r.body == b"1158201444"),
        "{answer:?}"
    );
    request.query[1].1 = "nope".into();
    assert!(matches!(plugin.handshake(&settings, &request), Ok(r) if r.status == 403));
}

#[test]
fn sends_through_the_embedders_client() {
    let f = fixture();
    let plugin = load(&f, "well-behaved");
    let message = OutboundMessage {
        recipient: "905321112233".into(),
        content: Content::Text("Kargonuz yolda".into()),
        reply_to: None,
        idempotency_key: "k1".into(),
        extensions: Vec::new(),
    };
    let sent = plugin.send(&Binding::isolated(Settings::default()), &message);
    assert!(
        matches!(&sent, Ok(Ok(s)) if s.provider_message_id == "wamid.1"),
        "{sent:?}"
    );
    let requests = f
        .http
        .requests
        .lock()
        .map(|r| r.clone())
        .unwrap_or_default();
    assert_eq!(requests.len(), 1);
    let (plugin_id, request, timeout) = &requests[0];
    assert_eq!(plugin_id, "well-behaved@0.1.0");
    assert_eq!(request.method, "POST");
    assert_eq!(request.url, "https://api.example.test/messages");
    assert!(String::from_utf8_lossy(&request.body).contains("Kargonuz yolda"));
    // What is left of the 1000 ms budget, never more.
    assert!(*timeout <= std::time::Duration::from_millis(1000));
}

#[test]
fn a_reusing_binding_serves_many_calls() {
    let f = fixture();
    let plugin = load(&f, "well-behaved");
    let binding = Binding::reusing(Settings::default(), 3);
    for _ in 0..7 {
        let answer = plugin.parse_webhook(&binding, &webhook(WHATSAPP_WEBHOOK, Vec::new()));
        assert!(
            matches!(answer, Ok(Ok(ref events)) if events.len() == 2),
            "{answer:?}"
        );
    }
    assert_eq!(plugin.metrics().calls, 7);
}

#[test]
fn storage_is_bounded_by_the_quota_and_the_clock_is_the_hosts() {
    let f = fixture();
    let plugin = load(&f, "well-behaved");
    let mut small = Settings::default();
    small.config.insert("kv_probe_bytes".into(), "100".into());
    match plugin.list_templates(&Binding::isolated(small)) {
        Ok(Ok(templates)) => {
            assert_eq!(templates[0].name, "probe-100");
            // The fixture's ManualClock, not the machine's.
            assert_eq!(templates[0].body.as_deref(), Some("1750000000000"));
            // So is the WASI wall clock behind std's SystemTime.
            assert_eq!(
                templates[0].extensions,
                vec![("wasi_now_ms".to_owned(), "1750000000000".to_owned())]
            );
        }
        other => panic!("{other:?}"),
    }
    let mut big = Settings::default();
    // The manifest's kv_bytes is 4096: key + value must fit.
    big.config.insert("kv_probe_bytes".into(), "4092".into());
    match plugin.list_templates(&Binding::isolated(big)) {
        Ok(Err(ProviderError::Rejected(text))) => {
            assert!(text.contains("QuotaExceeded"), "{text}");
            assert!(text.contains("4096"), "{text}");
        }
        other => panic!("{other:?}"),
    }
    let mut exact = Settings::default();
    exact.config.insert("kv_probe_bytes".into(), "4091".into());
    assert!(matches!(
        plugin.list_templates(&Binding::isolated(exact)),
        Ok(Ok(ref t)) if t[0].name == "probe-4091"
    ));
}
