//! The `whatsapp-cloud` plugin against the WhatsApp Cloud API fake.

use omnigate_fakes::whatsapp::{
    self, GraphFailure, PHONE_NUMBER_ID, WABA_ID, WhatsAppFake, WindowMode, envelope, message,
    messages_value, meta_json, signed, statuses_value,
};
use omnigate_plugin_host::types::channel::{InboundEvent, ProviderError, WebhookError};
use omnigate_plugin_host::types::{
    Button, Choices, ContactCard, Content, DeliveryStatus, Interactive, InteractiveReply, Location,
    Media, MediaKind, Menu, MenuRow, MenuSection, Template,
};
use serde_json::json;

use crate::channel_harness::{Channel, Files, channel, outbound, settings};

const TOKEN: &str = "EAAGm0PX4ZCpsBA-test-token";
const APP_SECRET: &str = "app-secret-1";
const VERIFY_TOKEN: &str = "verify-me-please";
const CONTACT: &str = "905321112233";

fn start() -> (WhatsAppFake, Channel) {
    start_with_token(TOKEN)
}

fn start_with_token(token: &str) -> (WhatsAppFake, Channel) {
    let fake = WhatsAppFake::start(TOKEN).expect("fake starts");
    let channel = channel(
        "whatsapp-cloud",
        &[&fake.server],
        settings(
            &[
                ("phone_number_id", PHONE_NUMBER_ID),
                ("business_account_id", WABA_ID),
            ],
            &[
                ("access_token", token),
                ("app_secret", APP_SECRET),
                ("verify_token", VERIFY_TOKEN),
            ],
        ),
    );
    (fake, channel)
}

fn message_of(event: &InboundEvent) -> &omnigate_plugin_host::types::channel::InboundMessage {
    match event {
        InboundEvent::Message(m) => m,
        other => panic!("expected a message, got {other:?}"),
    }
}

fn extension<'a>(extensions: &'a [(String, String)], key: &str) -> Option<&'a str> {
    extensions
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

#[test]
fn handshake_echoes_the_challenge_only_for_the_verify_token() {
    let (_fake, wa) = start();
    let ok = wa.handshake(&whatsapp::handshake(VERIFY_TOKEN, "1158201444"));
    assert_eq!(ok.status, 200);
    assert_eq!(ok.body, b"1158201444");

    let wrong = wa.handshake(&whatsapp::handshake("guess", "1158201444"));
    assert_eq!(wrong.status, 403);

    let mut not_subscribe = whatsapp::handshake(VERIFY_TOKEN, "1");
    not_subscribe.query[0].1 = "unsubscribe".into();
    assert_eq!(wa.handshake(&not_subscribe).status, 403);
}

#[test]
fn text_webhook_with_escaped_turkish_parses_to_a_message() {
    let (_fake, wa) = start();
    let hook = whatsapp::inbound_text(
        APP_SECRET,
        CONTACT,
        "Ayşe Y.",
        "wamid.HBgM1",
        "Merhaba, siparişim nerede?",
        1_749_416_383,
    );
    // Meta's form: non-ASCII as \u escapes, signed as sent.
    assert!(String::from_utf8_lossy(&hook.body).contains("sipari\\u015fim"));
    let events = wa.events(&hook);
    assert_eq!(events.len(), 1);
    let m = message_of(&events[0]);
    assert_eq!(m.provider_message_id, "wamid.HBgM1");
    assert_eq!(m.contact.external_id, CONTACT);
    assert_eq!(m.contact.display_name.as_deref(), Some("Ayşe Y."));
    assert_eq!(m.contact.phone.as_deref(), Some("+905321112233"));
    assert_eq!(m.sent_at_ms, 1_749_416_383_000);
    assert_eq!(
        m.content,
        Content::Text("Merhaba, siparişim nerede?".into())
    );
    assert_eq!(m.reply_to, None);
}

#[test]
fn raw_utf8_webhook_parses_too() {
    let (_fake, wa) = start();
    let body = envelope(vec![messages_value(
        CONTACT,
        "Çağrı Ö.",
        vec![message(
            CONTACT,
            "wamid.U1",
            1_749_416_400,
            "text",
            json!({"body": "Güle güle"}),
        )],
    )]);
    let hook = signed(APP_SECRET, body.to_string().into_bytes());
    let events = wa.events(&hook);
    let m = message_of(&events[0]);
    assert_eq!(m.contact.display_name.as_deref(), Some("Çağrı Ö."));
    assert_eq!(m.content, Content::Text("Güle güle".into()));
}

#[test]
fn every_message_kind_and_status_of_a_batch_parses_in_order() {
    let (_fake, wa) = start();
    let ts = 1_749_416_383;
    let mut button_reply = message(
        CONTACT,
        "wamid.BR",
        ts,
        "interactive",
        json!({"type": "button_reply", "button_reply": {"id": "btn_track", "title": "Kargom nerede"}}),
    );
    button_reply["context"] = json!({"from": "15550783881", "id": "wamid.ASKED"});
    let mut unsupported = message(CONTACT, "wamid.UN", ts, "unsupported", json!(null));
    unsupported["errors"] = json!([{"code": 131051, "title": "Message type unknown", "message": "Message type unknown", "error_data": {"details": "Message type is currently not supported."}}]);
    let messages = vec![
        message(
            CONTACT,
            "wamid.IMG",
            ts,
            "image",
            json!({"caption": "fatura", "mime_type": "image/jpeg", "sha256": "abc", "id": "1001"}),
        ),
        message(
            CONTACT,
            "wamid.VID",
            ts,
            "video",
            json!({"mime_type": "video/mp4", "sha256": "abc", "id": "1002"}),
        ),
        message(
            CONTACT,
            "wamid.AUD",
            ts,
            "audio",
            json!({"mime_type": "audio/ogg; codecs=opus", "sha256": "abc", "id": "1003", "voice": true}),
        ),
        message(
            CONTACT,
            "wamid.DOC",
            ts,
            "document",
            json!({"caption": "Fatura", "filename": "fatura.pdf", "mime_type": "application/pdf", "sha256": "abc", "id": "1004"}),
        ),
        message(
            CONTACT,
            "wamid.STK",
            ts,
            "sticker",
            json!({"mime_type": "image/webp", "sha256": "abc", "id": "1005", "animated": false}),
        ),
        message(
            CONTACT,
            "wamid.LOC",
            ts,
            "location",
            json!({"latitude": 41.0, "longitude": 29.0, "name": "Ofis", "address": "Kadıköy"}),
        ),
        message(
            CONTACT,
            "wamid.CON",
            ts,
            "contacts",
            json!([{"name": {"formatted_name": "Mehmet K.", "first_name": "Mehmet"}, "phones": [{"phone": "+90 532 000 0000", "wa_id": "905320000000", "type": "CELL"}], "emails": [{"email": "m@example.com", "type": "WORK"}]}]),
        ),
        button_reply,
        message(
            CONTACT,
            "wamid.LR",
            ts,
            "interactive",
            json!({"type": "list_reply", "list_reply": {"id": "row_1", "title": "Kırmızı", "description": "M beden"}}),
        ),
        message(
            CONTACT,
            "wamid.BTN",
            ts,
            "button",
            json!({"payload": "TRACK_1042", "text": "Takip et"}),
        ),
        message(
            CONTACT,
            "wamid.REA",
            ts,
            "reaction",
            json!({"message_id": "wamid.OUT1", "emoji": "👍"}),
        ),
        message(
            CONTACT,
            "wamid.UNREA",
            ts,
            "reaction",
            json!({"message_id": "wamid.OUT1"}),
        ),
        message(
            CONTACT,
            "wamid.ORD",
            ts,
            "order",
            json!({"catalog_id": "cat1", "text": "Hızlı lütfen", "product_items": [{"product_retailer_id": "sku_1", "quantity": 2, "item_price": 49.9, "currency": "TRY"}]}),
        ),
        unsupported,
        message(
            CONTACT,
            "wamid.SYS",
            ts,
            "system",
            json!({"body": "User changed number", "type": "user_changed_number", "new_wa_id": "905329999999"}),
        ),
    ];
    let statuses = vec![
        whatsapp::status("wamid.OUT1", CONTACT, "sent", ts + 1),
        whatsapp::status("wamid.OUT1", CONTACT, "delivered", ts + 2),
        whatsapp::status("wamid.OUT1", CONTACT, "read", ts + 3),
        whatsapp::failed(
            "wamid.OUT2",
            CONTACT,
            &GraphFailure::re_engagement(),
            ts + 4,
        ),
    ];
    let body = envelope(vec![
        messages_value(CONTACT, "Ayşe Y.", messages),
        statuses_value(statuses),
    ]);
    let events = wa.events(&signed(APP_SECRET, meta_json(&body)));
    // 15 messages, one removed reaction skipped, 4 statuses.
    assert_eq!(events.len(), 18, "{events:#?}");

    let media = |i: usize| match &message_of(&events[i]).content {
        Content::Media(m) => m.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        media(0),
        Media {
            kind: MediaKind::Image,
            reference: "1001".into(),
            mime: "image/jpeg".into(),
            size_bytes: None,
            caption: Some("fatura".into()),
            filename: None,
        }
    );
    assert_eq!(media(1).kind, MediaKind::Video);
    assert_eq!(media(2).kind, MediaKind::Audio);
    assert_eq!(media(2).mime, "audio/ogg; codecs=opus");
    assert_eq!(
        extension(&message_of(&events[2]).extensions, "whatsapp.voice"),
        Some("true")
    );
    assert_eq!(media(3).kind, MediaKind::Document);
    assert_eq!(media(3).filename.as_deref(), Some("fatura.pdf"));
    assert_eq!(media(4).kind, MediaKind::Sticker);
    assert_eq!(
        message_of(&events[5]).content,
        Content::Location(Location {
            latitude: 41.0,
            longitude: 29.0,
            name: Some("Ofis".into()),
            address: Some("Kadıköy".into()),
        })
    );
    assert_eq!(
        message_of(&events[6]).content,
        Content::ContactCard(ContactCard {
            name: "Mehmet K.".into(),
            phones: vec!["+90 532 000 0000".into()],
            emails: vec!["m@example.com".into()],
        })
    );
    let tapped = message_of(&events[7]);
    assert_eq!(
        tapped.content,
        Content::InteractiveReply(InteractiveReply {
            id: "btn_track".into(),
            title: "Kargom nerede".into()
        })
    );
    assert_eq!(tapped.reply_to.as_deref(), Some("wamid.ASKED"));
    assert_eq!(
        message_of(&events[8]).content,
        Content::InteractiveReply(InteractiveReply {
            id: "row_1".into(),
            title: "Kırmızı".into()
        })
    );
    assert_eq!(
        message_of(&events[9]).content,
        Content::InteractiveReply(InteractiveReply {
            id: "TRACK_1042".into(),
            title: "Takip et".into()
        })
    );
    let reaction = message_of(&events[10]);
    assert_eq!(reaction.provider_message_id, "wamid.REA");
    assert_eq!(reaction.content, Content::Text("👍".into()));
    assert_eq!(reaction.reply_to.as_deref(), Some("wamid.OUT1"));
    assert!(extension(&reaction.extensions, "whatsapp.reaction").is_some());
    let order = message_of(&events[11]);
    assert_eq!(order.provider_message_id, "wamid.ORD");
    assert_eq!(
        order.content,
        Content::Text("Order: 2 × sku_1 (49.9 TRY)\nHızlı lütfen".into())
    );
    assert!(extension(&order.extensions, "whatsapp.order").is_some());
    let unknown = message_of(&events[12]);
    match &unknown.content {
        Content::Text(t) => assert!(t.contains("131051") && t.contains("unsupported"), "{t}"),
        other => panic!("{other:?}"),
    }
    match &events[13] {
        InboundEvent::Profile(p) => {
            assert_eq!(p.external_id, CONTACT);
            assert_eq!(p.phone.as_deref(), Some("+905329999999"));
        }
        other => panic!("{other:?}"),
    }
    let statuses: Vec<_> = events[14..]
        .iter()
        .map(|e| match e {
            InboundEvent::Status(s) => s.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(statuses[0].status, DeliveryStatus::Sent);
    assert_eq!(statuses[0].recipient, CONTACT);
    assert_eq!(statuses[0].at_ms, (ts + 1) * 1000);
    assert_eq!(statuses[1].status, DeliveryStatus::Delivered);
    assert_eq!(statuses[2].status, DeliveryStatus::Read);
    assert_eq!(statuses[3].provider_message_id, "wamid.OUT2");
    match &statuses[3].status {
        DeliveryStatus::Failed(reason) => {
            assert!(
                reason.starts_with("(#131047) Re-engagement message: Message failed"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(
        extension(&statuses[3].extensions, "whatsapp.errors").is_some_and(|e| e.contains("131047"))
    );
}

#[test]
fn several_entries_and_changes_keep_their_order() {
    let (_fake, wa) = start();
    let first = envelope(vec![
        messages_value(
            CONTACT,
            "A",
            vec![message(CONTACT, "wamid.1", 1, "text", json!({"body": "1"}))],
        ),
        messages_value(
            "905300000002",
            "B",
            vec![
                message("905300000002", "wamid.2", 2, "text", json!({"body": "2"})),
                message("905300000002", "wamid.3", 3, "text", json!({"body": "3"})),
            ],
        ),
    ]);
    let mut body = first.clone();
    body["entry"].as_array_mut().expect("entries").push(
        envelope(vec![messages_value(
            CONTACT,
            "A",
            vec![message(CONTACT, "wamid.4", 4, "text", json!({"body": "4"}))],
        )])["entry"][0]
            .clone(),
    );
    let events = wa.events(&signed(APP_SECRET, meta_json(&body)));
    let ids: Vec<_> = events
        .iter()
        .map(|e| message_of(e).provider_message_id.clone())
        .collect();
    assert_eq!(ids, ["wamid.1", "wamid.2", "wamid.3", "wamid.4"]);
    assert_eq!(
        message_of(&events[1]).contact.display_name.as_deref(),
        Some("B")
    );
}

#[test]
fn wrong_or_missing_signature_is_unauthenticated() {
    let (_fake, wa) = start();
    let good = whatsapp::inbound_text(APP_SECRET, CONTACT, "A", "wamid.1", "hi", 1);
    let unsigned = good.clone().with_header("x-hub-signature-256", None);
    assert!(matches!(
        wa.parse(&unsigned),
        Err(WebhookError::Unauthenticated(_))
    ));
    let other_secret = whatsapp::inbound_text("not-the-secret", CONTACT, "A", "wamid.1", "hi", 1);
    assert!(matches!(
        wa.parse(&other_secret),
        Err(WebhookError::Unauthenticated(_))
    ));
    let tampered = good
        .clone()
        .with_body(String::from_utf8_lossy(&good.body).replace("hi", "ho"));
    assert!(matches!(
        wa.parse(&tampered),
        Err(WebhookError::Unauthenticated(_))
    ));
    let garbage = good.with_header("x-hub-signature-256", Some("sha256=zz"));
    assert!(matches!(
        wa.parse(&garbage),
        Err(WebhookError::Unauthenticated(_))
    ));
}

#[test]
fn malformed_payloads_are_malformed() {
    let (_fake, wa) = start();
    for body in [&b"{not json"[..], br#"{"object":"page","entry":[]}"#, br#"{"entry":[{"changes":[{"field":"messages","value":{"messages":[{"from":"1","id":"w","timestamp":"yesterday","type":"text","text":{"body":"x"}}]}}]}]}"#] {
        let hook = signed(APP_SECRET, body.to_vec());
        assert!(matches!(wa.parse(&hook), Err(WebhookError::Malformed(_))), "{}", String::from_utf8_lossy(body));
    }
}

/// The one request the fake got for a send, checked for path and token.
fn sent_body(fake: &WhatsAppFake) -> serde_json::Value {
    let requests = fake.server.requests();
    let last = requests.last().expect("a request");
    assert_eq!(last.method, "POST");
    assert_eq!(last.path, format!("/v25.0/{PHONE_NUMBER_ID}/messages"));
    assert_eq!(
        last.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(last.header("content-type"), Some("application/json"));
    last.json()
}

#[test]
fn send_text_posts_the_documented_request_and_returns_the_wamid() {
    let (fake, wa) = start();
    let mut message = outbound(CONTACT, Content::Text("Kargonuz yolda".into()));
    message.reply_to = Some("wamid.IN1".into());
    let sent = wa.send(&message).expect("sent");
    assert!(sent.provider_message_id.starts_with("wamid."));
    assert_eq!(
        sent_body(&fake),
        json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": CONTACT,
            "context": {"message_id": "wamid.IN1"},
            "type": "text",
            "text": {"preview_url": false, "body": "Kargonuz yolda"},
        })
    );
    assert!(
        extension(&sent.extensions, "whatsapp.message_status")
            .is_some_and(|s| s.contains("accepted"))
    );
}

#[test]
fn send_template_media_interactive_location_and_contacts() {
    let (fake, wa) = start();
    let common = |kind: &str, payload: serde_json::Value| {
        let mut body = json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": CONTACT, "type": kind});
        body[kind] = payload;
        body
    };

    wa.send(&outbound(
        CONTACT,
        Content::Template(Template {
            name: "order_shipped".into(),
            language: "tr".into(),
            parameters: vec!["Ayşe".into(), "#1042".into()],
        }),
    ))
    .expect("template sent");
    assert_eq!(
        sent_body(&fake),
        common(
            "template",
            json!({"name": "order_shipped", "language": {"code": "tr"}, "components": [
                {"type": "body", "parameters": [{"type": "text", "text": "Ayşe"}, {"type": "text", "text": "#1042"}]}
            ]})
        )
    );

    wa.send(&outbound(
        CONTACT,
        Content::Template(Template {
            name: "hello_world".into(),
            language: "en_US".into(),
            parameters: vec![],
        }),
    ))
    .expect("template without parameters sent");
    assert_eq!(
        sent_body(&fake),
        common(
            "template",
            json!({"name": "hello_world", "language": {"code": "en_US"}})
        )
    );

    let media = |kind, reference: &str| Media {
        kind,
        reference: reference.into(),
        mime: "application/pdf".into(),
        size_bytes: Some(10),
        caption: Some("Fatura".into()),
        filename: Some("fatura.pdf".into()),
    };
    wa.send(&outbound(
        CONTACT,
        Content::Media(media(MediaKind::Document, "https://cdn.example.com/f.pdf")),
    ))
    .expect("document sent");
    assert_eq!(
        sent_body(&fake),
        common(
            "document",
            json!({"link": "https://cdn.example.com/f.pdf", "caption": "Fatura", "filename": "fatura.pdf"})
        )
    );
    wa.send(&outbound(
        CONTACT,
        Content::Media(media(MediaKind::Image, "1234567890")),
    ))
    .expect("image sent");
    assert_eq!(
        sent_body(&fake),
        common("image", json!({"id": "1234567890", "caption": "Fatura"}))
    );
    wa.send(&outbound(
        CONTACT,
        Content::Media(media(MediaKind::Audio, "555")),
    ))
    .expect("audio sent");
    assert_eq!(sent_body(&fake), common("audio", json!({"id": "555"})));

    wa.send(&outbound(
        CONTACT,
        Content::Interactive(Interactive {
            header: Some("Sipariş #1042".into()),
            body: "Ne yapmak istersiniz?".into(),
            footer: Some("Acme".into()),
            choices: Choices::Buttons(vec![
                Button {
                    id: "btn_track".into(),
                    title: "Kargo takip".into(),
                },
                Button {
                    id: "btn_agent".into(),
                    title: "Temsilci".into(),
                },
            ]),
        }),
    ))
    .expect("buttons sent");
    assert_eq!(
        sent_body(&fake),
        common(
            "interactive",
            json!({"type": "button",
            "header": {"type": "text", "text": "Sipariş #1042"}, "body": {"text": "Ne yapmak istersiniz?"},
            "footer": {"text": "Acme"},
            "action": {"buttons": [
                {"type": "reply", "reply": {"id": "btn_track", "title": "Kargo takip"}},
                {"type": "reply", "reply": {"id": "btn_agent", "title": "Temsilci"}}]}})
        )
    );

    wa.send(&outbound(
        CONTACT,
        Content::Interactive(Interactive {
            header: None,
            body: "Bir ürün seçin".into(),
            footer: None,
            choices: Choices::Menu(Menu {
                button: "Seçenekler".into(),
                sections: vec![MenuSection {
                    title: Some("Ürünler".into()),
                    rows: vec![MenuRow {
                        id: "sku_1".into(),
                        title: "Kırmızı tişört".into(),
                        description: Some("M beden".into()),
                    }],
                }],
            }),
        }),
    ))
    .expect("list sent");
    assert_eq!(
        sent_body(&fake),
        common(
            "interactive",
            json!({"type": "list", "body": {"text": "Bir ürün seçin"},
            "action": {"button": "Seçenekler", "sections": [{"title": "Ürünler", "rows": [{"id": "sku_1", "title": "Kırmızı tişört", "description": "M beden"}]}]}})
        )
    );

    wa.send(&outbound(
        CONTACT,
        Content::Location(Location {
            latitude: 41.0,
            longitude: 29.0,
            name: Some("Mağaza".into()),
            address: None,
        }),
    ))
    .expect("location sent");
    assert_eq!(
        sent_body(&fake),
        common(
            "location",
            json!({"latitude": 41.0, "longitude": 29.0, "name": "Mağaza"})
        )
    );

    wa.send(&outbound(
        CONTACT,
        Content::ContactCard(ContactCard {
            name: "Destek".into(),
            phones: vec!["+908501234567".into()],
            emails: vec![],
        }),
    ))
    .expect("contact sent");
    assert_eq!(
        sent_body(&fake),
        common(
            "contacts",
            json!([{"name": {"formatted_name": "Destek", "first_name": "Destek"}, "phones": [{"phone": "+908501234567"}], "emails": []}])
        )
    );
    assert_eq!(fake.state.sent().len(), 9);
}

#[test]
fn content_whatsapp_cannot_carry_is_refused_before_any_request() {
    let (fake, wa) = start();
    let four = (0..4)
        .map(|i| Button {
            id: format!("b{i}"),
            title: format!("B{i}"),
        })
        .collect();
    let too_many = Content::Interactive(Interactive {
        header: None,
        body: "?".into(),
        footer: None,
        choices: Choices::Buttons(four),
    });
    assert!(matches!(
        wa.send(&outbound(CONTACT, too_many)),
        Err(ProviderError::UnsupportedContent(_))
    ));
    let long_title = Content::Interactive(Interactive {
        header: None,
        body: "?".into(),
        footer: None,
        choices: Choices::Buttons(vec![Button {
            id: "b".into(),
            title: "a title longer than twenty".into(),
        }]),
    });
    assert!(matches!(
        wa.send(&outbound(CONTACT, long_title)),
        Err(ProviderError::UnsupportedContent(_))
    ));
    let reply = Content::InteractiveReply(InteractiveReply {
        id: "x".into(),
        title: "x".into(),
    });
    assert!(matches!(
        wa.send(&outbound(CONTACT, reply)),
        Err(ProviderError::UnsupportedContent(_))
    ));
    let stored = Content::Media(Media {
        kind: MediaKind::Image,
        reference: "ab".repeat(32),
        mime: "image/jpeg".into(),
        size_bytes: Some(10),
        caption: None,
        filename: None,
    });
    // A send the host gave no file to read (the stored reference is not
    // readable outside a granted send) reaches nothing.
    assert!(matches!(
        wa.send(&outbound(CONTACT, stored)),
        Err(ProviderError::Rejected(m)) if m.contains("only during `send`")
    ));
    assert!(fake.server.requests().is_empty());
}

const PHOTO_REF: &str = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";
const INVOICE_REF: &str = "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2";

/// A JPEG's first bytes, then every byte value (CR, LF, `-` included), so
/// a multipart framing bug would show in the bytes that arrive.
fn jpeg() -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0];
    bytes.extend((0..=255u8).cycle().take(200_000));
    bytes.extend_from_slice(b"\r\n--omnigate-form-boundary-0000000000000000\r\n");
    bytes
}

fn stored(
    kind: MediaKind,
    reference: &str,
    mime: &str,
    caption: &str,
    filename: Option<&str>,
) -> Content {
    Content::Media(Media {
        kind,
        reference: reference.into(),
        mime: mime.into(),
        size_bytes: None,
        caption: Some(caption.into()),
        filename: filename.map(str::to_owned),
    })
}

#[test]
fn an_appliance_image_and_document_are_uploaded_then_sent_by_media_id() {
    let (fake, wa) = start();
    let photo = jpeg();
    let pdf = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n".repeat(500);
    let files = || {
        Files::default()
            .with(PHOTO_REF, &photo, "image/jpeg", Some("urun.jpg"))
            .with(
                INVOICE_REF,
                &pdf,
                "application/pdf",
                Some("upload-name.pdf"),
            )
    };
    let sent = wa
        .send_with(
            &outbound(
                CONTACT,
                stored(MediaKind::Image, PHOTO_REF, "image/jpeg", "Ürününüz", None),
            ),
            files(),
        )
        .expect("image sent");
    assert!(sent.provider_message_id.starts_with("wamid."));
    let sent = wa
        .send_with(
            &outbound(
                CONTACT,
                stored(
                    MediaKind::Document,
                    INVOICE_REF,
                    "application/pdf",
                    "Faturanız",
                    Some("fatura-1042.pdf"),
                ),
            ),
            files(),
        )
        .expect("document sent");
    assert!(sent.provider_message_id.starts_with("wamid."));

    let uploads = fake.state.uploads();
    assert_eq!(uploads.len(), 2);
    assert_eq!(uploads[0].phone_number_id, PHONE_NUMBER_ID);
    assert_eq!(uploads[0].media_type, "image/jpeg");
    assert_eq!(uploads[0].filename, "urun.jpg");
    assert_eq!(uploads[0].bytes, photo, "the image arrives byte for byte");
    assert_eq!(uploads[1].media_type, "application/pdf");
    assert_eq!(
        uploads[1].filename, "fatura-1042.pdf",
        "the message's file name wins"
    );
    assert_eq!(uploads[1].bytes, pdf, "the document arrives byte for byte");

    // Each upload precedes its send, which names the uploaded id.
    let paths: Vec<String> = fake
        .server
        .requests()
        .iter()
        .map(|r| r.path.clone())
        .collect();
    let media_path = format!("/v25.0/{PHONE_NUMBER_ID}/media");
    let messages_path = format!("/v25.0/{PHONE_NUMBER_ID}/messages");
    assert_eq!(
        paths,
        vec![
            media_path.clone(),
            messages_path.clone(),
            media_path,
            messages_path
        ]
    );
    let upload_request = &fake.server.requests()[0];
    assert_eq!(
        upload_request.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert!(
        upload_request
            .header("content-type")
            .is_some_and(|c| c.starts_with("multipart/form-data; boundary=")),
        "{:?}",
        upload_request.header("content-type")
    );
    let sent = fake.state.sent();
    assert_eq!(
        sent[0],
        json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": CONTACT,
            "type": "image",
            "image": { "id": uploads[0].id, "caption": "Ürününüz" },
        })
    );
    assert_eq!(
        sent[1]["document"],
        json!({ "id": uploads[1].id, "caption": "Faturanız", "filename": "fatura-1042.pdf" })
    );
}

/// A form part: name, file name and type for a file, content.
type FormPart<'a> = (&'a str, Option<(&'a str, &'a str)>, &'a [u8]);

#[test]
fn the_fake_refuses_uploads_the_cloud_api_refuses() {
    let fake = WhatsAppFake::start(TOKEN).expect("fake starts");
    let client = crate::support::http_for(&[&fake.server]);
    let url = format!("https://graph.facebook.com/v25.0/{PHONE_NUMBER_ID}/media");
    let post = |content_type: &str, body: &[u8]| {
        use omnigate_plugin_host::HttpClient;
        client
            .send(
                "test",
                omnigate_plugin_host::services::OutboundRequest {
                    method: "POST",
                    url: url.clone(),
                    headers: vec![
                        ("authorization".into(), format!("Bearer {TOKEN}")),
                        ("content-type".into(), content_type.to_owned()),
                    ],
                    body: body.to_vec(),
                },
                std::time::Duration::from_secs(10),
            )
            .expect("answered")
    };
    let form = |parts: &[FormPart<'_>]| {
        let mut body = Vec::new();
        for (name, file, content) in parts {
            body.extend_from_slice(b"--B\r\n");
            match file {
                Some((filename, mime)) => body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: {mime}\r\n\r\n").as_bytes(),
                ),
                None => body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
                ),
            }
            body.extend_from_slice(content);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(b"--B--\r\n");
        body
    };
    let ct = "multipart/form-data; boundary=B";
    let good = form(&[
        ("messaging_product", None, b"whatsapp"),
        ("type", None, b"image/png"),
        ("file", Some(("a.png", "image/png")), b"\x89PNG\r\n\x1a\n"),
    ]);
    let ok = post(ct, &good);
    assert_eq!(ok.status, 200, "{}", String::from_utf8_lossy(&ok.body));
    let error_code = |r: &omnigate_plugin_host::services::OutboundResponse| {
        serde_json::from_slice::<serde_json::Value>(&r.body).unwrap_or_default()["error"]["code"]
            .clone()
    };
    // JSON instead of a form; a form without its closing delimiter.
    assert_eq!(error_code(&post("application/json", b"{}")), json!(100));
    assert_eq!(error_code(&post(ct, &good[..good.len() - 8])), json!(100));
    // No messaging_product; no file; type and file disagree; a type the
    // Cloud API does not take; an image over 5 MB.
    let missing_product = form(&[
        ("type", None, b"image/png"),
        ("file", Some(("a.png", "image/png")), b"x"),
    ]);
    assert_eq!(error_code(&post(ct, &missing_product)), json!(100));
    let missing_file = form(&[
        ("messaging_product", None, b"whatsapp"),
        ("type", None, b"image/png"),
    ]);
    assert_eq!(error_code(&post(ct, &missing_file)), json!(131008));
    let mismatch = form(&[
        ("messaging_product", None, b"whatsapp"),
        ("type", None, b"image/png"),
        ("file", Some(("a.pdf", "application/pdf")), b"%PDF"),
    ]);
    assert_eq!(error_code(&post(ct, &mismatch)), json!(100));
    let unsupported = form(&[
        ("messaging_product", None, b"whatsapp"),
        ("type", None, b"application/x-msdownload"),
        ("file", Some(("a.exe", "application/x-msdownload")), b"MZ"),
    ]);
    assert_eq!(error_code(&post(ct, &unsupported)), json!(100));
    let huge = vec![0u8; 5 * 1024 * 1024 + 1];
    let too_big = form(&[
        ("messaging_product", None, b"whatsapp"),
        ("type", None, b"image/jpeg"),
        ("file", Some(("a.jpg", "image/jpeg")), &huge),
    ]);
    assert_eq!(error_code(&post(ct, &too_big)), json!(131053));
    assert_eq!(
        fake.state.uploads().len(),
        1,
        "only the good upload was kept"
    );
}

#[test]
fn a_file_the_appliance_does_not_hand_over_is_not_sent() {
    let (fake, wa) = start();
    // The appliance has only the photo; the message names another file
    // (the host's own scope test, a read of a file the message does not
    // carry, is in the plugin host's tests).
    let files = Files::default().with(PHOTO_REF, &jpeg(), "image/jpeg", None);
    let other = wa.send_with(
        &outbound(
            CONTACT,
            stored(MediaKind::Image, INVOICE_REF, "image/jpeg", "x", None),
        ),
        files,
    );
    assert!(
        matches!(&other, Err(ProviderError::Rejected(m)) if m.contains("no longer has the file")),
        "{other:?}"
    );
    assert!(fake.state.uploads().is_empty());
    assert!(fake.server.requests().is_empty());
}

#[test]
fn a_file_over_the_plugins_budget_fails_with_the_limit_and_uploads_nothing() {
    let (fake, wa) = start();
    // 256 MiB budget: half of what is left, about 127 MiB, can be read.
    let huge = vec![7u8; 130 * 1024 * 1024];
    let files = Files::default().with(INVOICE_REF, &huge, "application/pdf", Some("big.pdf"));
    let sent = wa.send_with(
        &outbound(
            CONTACT,
            stored(
                MediaKind::Document,
                INVOICE_REF,
                "application/pdf",
                "x",
                None,
            ),
        ),
        files,
    );
    assert!(
        matches!(&sent, Err(ProviderError::UnsupportedContent(m)) if m.contains("136314880 bytes") && m.contains("at most")),
        "{sent:?}"
    );
    assert!(fake.server.requests().is_empty());
}

#[test]
fn graph_errors_map_to_provider_errors() {
    let (fake, wa) = start();
    let text = || outbound(CONTACT, Content::Text("hi".into()));
    let check = |failure: GraphFailure, expected: &dyn Fn(&ProviderError) -> bool| {
        fake.state.fail_next(1, &failure);
        let got = wa.send(&text());
        match got {
            Err(e) => assert!(expected(&e), "{failure:?} gave {e:?}"),
            Ok(sent) => panic!("{failure:?} gave {sent:?}"),
        }
    };
    check(
        GraphFailure::re_engagement(),
        &|e| matches!(e, ProviderError::WindowClosed(m) if m.contains("131047")),
    );
    check(
        GraphFailure::throughput_limit(),
        &|e| matches!(e, ProviderError::RateLimited(r) if r.retry_after_ms == Some(1_000)),
    );
    check(
        GraphFailure::pair_rate_limit(),
        &|e| matches!(e, ProviderError::RateLimited(r) if r.retry_after_ms == Some(6_000)),
    );
    check(
        GraphFailure::new(400, 80007, "Rate limit issues", ""),
        &|e| matches!(e, ProviderError::RateLimited(r) if r.retry_after_ms == Some(60_000)),
    );
    check(
        GraphFailure::new(400, 4, "Application request limit reached", "").with_retry_after(30),
        &|e| matches!(e, ProviderError::RateLimited(r) if r.retry_after_ms == Some(30_000)),
    );
    check(GraphFailure::undeliverable(), &|e| {
        matches!(e, ProviderError::InvalidRecipient(_))
    });
    check(
        GraphFailure::not_in_allowed_list(),
        &|e| matches!(e, ProviderError::InvalidRecipient(m) if m.contains("allowed list")),
    );
    check(GraphFailure::invalid_token(), &|e| {
        matches!(e, ProviderError::Auth(_))
    });
    check(GraphFailure::server_error(), &|e| {
        matches!(e, ProviderError::TransientUpstream(_))
    });
    check(
        GraphFailure::new(503, 99999, "Service unavailable", ""),
        &|e| matches!(e, ProviderError::TransientUpstream(_)),
    );
    check(GraphFailure::template_missing("nope", "tr"), &|e| {
        matches!(e, ProviderError::NotFound(_))
    });
    check(
        GraphFailure::new(400, 131009, "Parameter value is not valid", "bad"),
        &|e| matches!(e, ProviderError::Rejected(m) if m.contains("131009")),
    );
    // The fake's own checks produce the same envelope.
    fake.state.set_templates(vec![whatsapp::template(
        "order_shipped",
        "tr",
        "UTILITY",
        "APPROVED",
        "{{1}}",
    )]);
    let unknown = outbound(
        CONTACT,
        Content::Template(Template {
            name: "nope".into(),
            language: "tr".into(),
            parameters: vec![],
        }),
    );
    assert!(matches!(wa.send(&unknown), Err(ProviderError::NotFound(m)) if m.contains("132001")));
    // Scripted failures are used up; the next send goes through.
    assert!(wa.send(&text()).is_ok());
}

#[test]
fn a_wrong_token_is_an_auth_error_and_an_unreachable_api_is_transient() {
    let (_fake, wa) = start_with_token("expired-token");
    assert!(
        matches!(wa.send(&outbound(CONTACT, Content::Text("hi".into()))), Err(ProviderError::Auth(m)) if m.contains("190"))
    );
    assert!(matches!(
        wa.fetch_media("1001"),
        Err(ProviderError::Auth(_))
    ));

    let (fake, wa) = start();
    drop(fake);
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert!(matches!(
        wa.send(&outbound(CONTACT, Content::Text("hi".into()))),
        Err(ProviderError::TransientUpstream(_))
    ));
}

#[test]
fn fetch_media_downloads_in_two_steps_with_the_token() {
    let (fake, wa) = start();
    let bytes: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
    fake.state.add_media("1001", &bytes, "image/jpeg");
    let media = wa.fetch_media("1001").expect("fetched");
    assert_eq!(media.mime, "image/jpeg");
    assert_eq!(media.bytes, bytes);
    let requests = fake.server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].path, "/v25.0/1001");
    assert_eq!(requests[1].path, "/whatsapp_business/attachments/");
    for r in &requests {
        assert_eq!(r.method, "GET");
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
    }
    assert!(matches!(
        wa.fetch_media("404404"),
        Err(ProviderError::NotFound(_))
    ));
    assert!(matches!(
        wa.fetch_media("../me"),
        Err(ProviderError::NotFound(_))
    ));
}

#[test]
fn list_templates_maps_every_page() {
    let (fake, wa) = start();
    fake.state.set_templates(vec![
        whatsapp::template(
            "order_shipped",
            "tr",
            "UTILITY",
            "APPROVED",
            "Merhaba {{1}}, {{2}} numaralı siparişiniz kargoda.",
        ),
        whatsapp::template("welcome", "en_US", "MARKETING", "PENDING", "Welcome!"),
        whatsapp::template(
            "otp",
            "tr",
            "AUTHENTICATION",
            "REJECTED",
            "Kodunuz {{1}}. {{1}} kimseyle paylaşmayın.",
        ),
    ]);
    fake.state.set_template_page_size(2);
    let templates = wa.list_templates().expect("listed");
    assert_eq!(templates.len(), 3);
    assert_eq!(templates[0].name, "order_shipped");
    assert_eq!(templates[0].language, "tr");
    assert_eq!(templates[0].category.as_deref(), Some("UTILITY"));
    assert_eq!(templates[0].status, "APPROVED");
    assert_eq!(templates[0].parameter_count, 2);
    assert_eq!(
        templates[0].body.as_deref(),
        Some("Merhaba {{1}}, {{2}} numaralı siparişiniz kargoda.")
    );
    assert_eq!(templates[1].parameter_count, 0);
    assert_eq!(templates[1].status, "PENDING");
    assert_eq!(templates[2].parameter_count, 1);
    let requests = fake.server.requests();
    assert_eq!(requests.len(), 2, "two pages");
    assert!(
        requests
            .iter()
            .all(|r| r.path == format!("/v25.0/{WABA_ID}/message_templates"))
    );
}

#[test]
fn capabilities_declare_the_window_templates_media_and_interactive() {
    let (_fake, wa) = start();
    let caps = wa.plugin.capabilities(&wa.binding).expect("capabilities");
    assert_eq!(caps.service_window_secs, Some(86_400));
    assert!(caps.templates);
    assert!(caps.interactive);
    let image = caps
        .media
        .iter()
        .find(|m| m.kind == MediaKind::Image)
        .expect("images");
    assert_eq!(image.max_bytes, 5 * 1024 * 1024);
    assert_eq!(caps.media.len(), 5);
}

#[test]
fn the_fake_enforces_the_service_window_synchronously_or_by_status() {
    let (fake, wa) = start();
    let now = 1_750_000_000;
    let day = 24 * 60 * 60;
    let text = outbound(CONTACT, Content::Text("hi".into()));
    let template = outbound(
        CONTACT,
        Content::Template(Template {
            name: "hello_world".into(),
            language: "en_US".into(),
            parameters: vec![],
        }),
    );
    fake.state.enforce_window(WindowMode::Sync, now);
    assert!(matches!(
        wa.send(&text),
        Err(ProviderError::WindowClosed(_))
    ));
    assert!(wa.send(&template).is_ok(), "templates always go");
    fake.state.note_inbound(CONTACT, now - 60);
    assert!(wa.send(&text).is_ok());
    fake.state.set_now(now + day);
    assert!(matches!(
        wa.send(&text),
        Err(ProviderError::WindowClosed(_))
    ));

    fake.state.enforce_window(WindowMode::Async, now + day);
    let sent = wa.send(&text).expect("accepted, to fail later");
    let reports = fake.state.take_failed_statuses(APP_SECRET);
    assert_eq!(reports.len(), 1);
    match wa.events(&reports[0]).as_slice() {
        [InboundEvent::Status(status)] => {
            assert_eq!(status.provider_message_id, sent.provider_message_id);
            assert!(matches!(&status.status, DeliveryStatus::Failed(r) if r.contains("131047")));
        }
        other => panic!("{other:?}"),
    }
    assert!(fake.state.take_failed_statuses(APP_SECRET).is_empty());
}
