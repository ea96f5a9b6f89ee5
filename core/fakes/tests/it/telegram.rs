//! The `telegram` plugin against the Telegram Bot API fake.

use omnigate_fakes::telegram::{
    self, BotFailure, Sender, TelegramFake, callback_update, text_update, update, webhook,
};
use omnigate_plugin_host::types::channel::{
    InboundEvent, InboundMessage, ProviderError, WebhookError,
};
use omnigate_plugin_host::types::{
    Button, Choices, ContactCard, Content, Interactive, InteractiveReply, Location, Media,
    MediaKind, Menu, MenuRow, MenuSection, Template,
};
use serde_json::json;

use crate::channel_harness::{Channel, Files, NOW_MS, channel, outbound, settings};

const TOKEN: &str = "7000000001:AAH-test-token";
const SECRET: &str = "webhook_secret-1";
const CHAT: i64 = 111_222_333;

fn ayse() -> Sender {
    Sender {
        id: CHAT,
        first_name: "Ayşe".into(),
        last_name: Some("Y".into()),
        username: Some("ayse".into()),
        language_code: Some("tr".into()),
    }
}

fn start() -> (TelegramFake, Channel) {
    start_with_token(TOKEN)
}

fn start_with_token(token: &str) -> (TelegramFake, Channel) {
    let fake = TelegramFake::start(TOKEN).expect("fake starts");
    let channel = channel(
        "telegram",
        &[&fake.server],
        settings(&[], &[("bot_token", token), ("webhook_secret", SECRET)]),
    );
    (fake, channel)
}

fn message_of(event: &InboundEvent) -> &InboundMessage {
    match event {
        InboundEvent::Message(m) => m,
        other => panic!("expected a message, got {other:?}"),
    }
}

fn only_message(tg: &Channel, body: &serde_json::Value) -> InboundMessage {
    let events = tg.events(&webhook(SECRET, body));
    assert_eq!(events.len(), 1, "{events:#?}");
    message_of(&events[0]).clone()
}

#[test]
fn there_is_no_handshake() {
    let (_fake, tg) = start();
    let response = tg.handshake(&omnigate_fakes::whatsapp::handshake("x", "1"));
    assert_eq!(response.status, 404);
}

#[test]
fn a_text_update_parses_with_the_sender_profile() {
    let (_fake, tg) = start();
    let m = only_message(&tg, &text_update(1, &ayse(), 42, "Merhaba", 1_717_000_000));
    assert_eq!(m.provider_message_id, format!("{CHAT}:42"));
    assert_eq!(m.contact.external_id, CHAT.to_string());
    assert_eq!(m.contact.display_name.as_deref(), Some("Ayşe Y"));
    assert_eq!(m.contact.username.as_deref(), Some("ayse"));
    assert_eq!(m.contact.language.as_deref(), Some("tr"));
    assert_eq!(m.sent_at_ms, 1_717_000_000_000);
    assert_eq!(m.content, Content::Text("Merhaba".into()));
}

#[test]
fn every_message_kind_parses() {
    let (_fake, tg) = start();
    let from = ayse();
    let msg = |fields: serde_json::Value| {
        update(
            7,
            "message",
            telegram::message(&from, 50, 1_717_000_000, fields),
        )
    };
    let media = |m: InboundMessage| match m.content {
        Content::Media(media) => media,
        other => panic!("{other:?}"),
    };

    let photo = media(only_message(
        &tg,
        &msg(json!({
            "photo": [
                {"file_id": "small", "file_unique_id": "s", "file_size": 1000, "width": 90, "height": 60},
                {"file_id": "large", "file_unique_id": "l", "file_size": 90000, "width": 1280, "height": 853},
                {"file_id": "medium", "file_unique_id": "m", "file_size": 9000, "width": 320, "height": 213}
            ],
            "caption": "Ürün fotoğrafı"
        })),
    ));
    assert_eq!(
        photo,
        Media {
            kind: MediaKind::Image,
            reference: "large".into(),
            mime: "image/jpeg".into(),
            size_bytes: Some(90000),
            caption: Some("Ürün fotoğrafı".into()),
            filename: None,
        }
    );
    let document = media(only_message(
        &tg,
        &msg(
            json!({"document": {"file_id": "doc1", "file_unique_id": "d", "file_name": "fatura.pdf", "mime_type": "application/pdf", "file_size": 1234}, "caption": "Fatura"}),
        ),
    ));
    assert_eq!(
        (
            document.kind,
            document.filename.as_deref(),
            document.mime.as_str(),
            document.size_bytes
        ),
        (
            MediaKind::Document,
            Some("fatura.pdf"),
            "application/pdf",
            Some(1234)
        )
    );
    let audio = media(only_message(
        &tg,
        &msg(
            json!({"audio": {"file_id": "a1", "file_unique_id": "a", "duration": 3, "mime_type": "audio/mpeg"}}),
        ),
    ));
    assert_eq!(
        (audio.kind, audio.mime.as_str()),
        (MediaKind::Audio, "audio/mpeg")
    );
    let voice_message = only_message(
        &tg,
        &msg(
            json!({"voice": {"file_id": "v1", "file_unique_id": "v", "duration": 2, "mime_type": "audio/ogg", "file_size": 5000}}),
        ),
    );
    assert!(
        voice_message
            .extensions
            .iter()
            .any(|(k, v)| k == "telegram.voice" && v == "true")
    );
    let voice = media(voice_message);
    assert_eq!(
        (voice.kind, voice.reference.as_str()),
        (MediaKind::Audio, "v1")
    );
    let video = media(only_message(
        &tg,
        &msg(
            json!({"video": {"file_id": "vid1", "file_unique_id": "x", "width": 1, "height": 1, "duration": 1, "mime_type": "video/mp4"}}),
        ),
    ));
    assert_eq!(video.kind, MediaKind::Video);
    let sticker = media(only_message(
        &tg,
        &msg(
            json!({"sticker": {"file_id": "st1", "file_unique_id": "st", "type": "regular", "width": 512, "height": 512, "is_animated": false, "is_video": false, "emoji": "😀"}}),
        ),
    ));
    assert_eq!(
        (sticker.kind, sticker.mime.as_str()),
        (MediaKind::Sticker, "image/webp")
    );

    let location = only_message(
        &tg,
        &msg(json!({"location": {"latitude": 41.0, "longitude": 29.0}})),
    );
    assert_eq!(
        location.content,
        Content::Location(Location {
            latitude: 41.0,
            longitude: 29.0,
            name: None,
            address: None
        })
    );
    let venue = only_message(
        &tg,
        &msg(
            json!({"location": {"latitude": 41.0, "longitude": 29.0}, "venue": {"location": {"latitude": 41.0, "longitude": 29.0}, "title": "Mağaza", "address": "Kadıköy"}}),
        ),
    );
    assert_eq!(
        venue.content,
        Content::Location(Location {
            latitude: 41.0,
            longitude: 29.0,
            name: Some("Mağaza".into()),
            address: Some("Kadıköy".into())
        })
    );

    let own_card = only_message(
        &tg,
        &msg(
            json!({"contact": {"phone_number": "+905321112233", "first_name": "Ayşe", "last_name": "Y", "user_id": CHAT}}),
        ),
    );
    assert_eq!(
        own_card.content,
        Content::ContactCard(ContactCard {
            name: "Ayşe Y".into(),
            phones: vec!["+905321112233".into()],
            emails: vec![]
        })
    );
    assert_eq!(own_card.contact.phone.as_deref(), Some("+905321112233"));

    let mut reply = telegram::message(&from, 51, 1_717_000_001, json!({"text": "Evet"}));
    reply["reply_to_message"] =
        telegram::message(&from, 49, 1_716_999_999, json!({"text": "Soru?"}));
    let reply = only_message(&tg, &update(8, "message", reply));
    assert_eq!(reply.reply_to, Some(format!("{CHAT}:49")));

    let mut edited = telegram::message(&from, 50, 1_717_000_000, json!({"text": "Düzeltilmiş"}));
    edited["edit_date"] = json!(1_717_000_500);
    let edited = only_message(&tg, &update(9, "edited_message", edited));
    assert_eq!(
        edited.provider_message_id,
        format!("{CHAT}:50:edited:1717000500")
    );
    assert_eq!(edited.content, Content::Text("Düzeltilmiş".into()));

    // A service message has nothing to show.
    let joined = msg(json!({"new_chat_members": [from.user()]}));
    assert!(tg.events(&webhook(SECRET, &joined)).is_empty());
    let unknown_update = json!({"update_id": 10, "my_chat_member": {}});
    assert!(tg.events(&webhook(SECRET, &unknown_update)).is_empty());
}

#[test]
fn a_tapped_button_is_an_interactive_reply_and_gets_answered() {
    let (fake, tg) = start();
    let keyboard = json!({"inline_keyboard": [[{"text": "Kargo takip", "callback_data": "track:1042"}], [{"text": "Temsilci", "callback_data": "agent"}]]});
    let m = only_message(
        &tg,
        &callback_update(
            11,
            &ayse(),
            "4382bfdwdsb323b2d9",
            "track:1042",
            77,
            keyboard,
        ),
    );
    assert_eq!(m.provider_message_id, "callback:4382bfdwdsb323b2d9");
    assert_eq!(
        m.content,
        Content::InteractiveReply(InteractiveReply {
            id: "track:1042".into(),
            title: "Kargo takip".into()
        })
    );
    assert_eq!(m.reply_to, Some(format!("{CHAT}:77")));
    assert_eq!(m.contact.external_id, CHAT.to_string());
    assert_eq!(m.sent_at_ms, u64::try_from(NOW_MS).expect("positive"));
    let calls = fake.state.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].method, "answerCallbackQuery");
    assert_eq!(
        calls[0].params,
        json!({"callback_query_id": "4382bfdwdsb323b2d9"})
    );
}

#[test]
fn a_wrong_or_missing_secret_token_is_unauthenticated_and_bad_json_malformed() {
    let (_fake, tg) = start();
    let body = text_update(1, &ayse(), 42, "x", 1);
    assert!(matches!(
        tg.parse(&webhook("guess", &body)),
        Err(WebhookError::Unauthenticated(_))
    ));
    let missing = webhook(SECRET, &body).with_header("x-telegram-bot-api-secret-token", None);
    assert!(matches!(
        tg.parse(&missing),
        Err(WebhookError::Unauthenticated(_))
    ));
    let malformed = webhook(SECRET, &body).with_body("{\"update_id\":");
    assert!(matches!(
        tg.parse(&malformed),
        Err(WebhookError::Malformed(_))
    ));
    let no_update_id = webhook(SECRET, &body).with_body("{\"message\":{}}");
    assert!(matches!(
        tg.parse(&no_update_id),
        Err(WebhookError::Malformed(_))
    ));
}

/// The last call the fake got, checked for path and method.
fn last_call(fake: &TelegramFake, method: &str) -> serde_json::Value {
    let requests = fake.server.requests();
    let last = requests.last().expect("a request");
    assert_eq!(last.method, "POST");
    assert_eq!(last.path, format!("/bot{TOKEN}/{method}"));
    assert_eq!(last.header("content-type"), Some("application/json"));
    last.json()
}

#[test]
fn send_text_calls_send_message_and_returns_chat_and_message_id() {
    let (fake, tg) = start();
    let mut message = outbound(&CHAT.to_string(), Content::Text("Kargonuz yolda".into()));
    message.reply_to = Some(format!("{CHAT}:42"));
    let sent = tg.send(&message).expect("sent");
    assert_eq!(sent.provider_message_id, format!("{CHAT}:1001"));
    assert_eq!(
        last_call(&fake, "sendMessage"),
        json!({"chat_id": CHAT, "text": "Kargonuz yolda", "reply_parameters": {"message_id": 42, "allow_sending_without_reply": true}})
    );
}

#[test]
fn send_media_interactive_location_and_contact() {
    let (fake, tg) = start();
    let to = CHAT.to_string();
    let media = |kind, reference: &str, mime: &str| {
        Content::Media(Media {
            kind,
            reference: reference.into(),
            mime: mime.into(),
            size_bytes: None,
            caption: Some("Bakınız".into()),
            filename: None,
        })
    };
    tg.send(&outbound(
        &to,
        media(
            MediaKind::Image,
            "https://cdn.example.com/p.jpg",
            "image/jpeg",
        ),
    ))
    .expect("photo sent");
    assert_eq!(
        last_call(&fake, "sendPhoto"),
        json!({"chat_id": CHAT, "photo": "https://cdn.example.com/p.jpg", "caption": "Bakınız"})
    );
    tg.send(&outbound(
        &to,
        media(MediaKind::Document, "BQACAgQAAxkD", "application/pdf"),
    ))
    .expect("document sent");
    assert_eq!(
        last_call(&fake, "sendDocument"),
        json!({"chat_id": CHAT, "document": "BQACAgQAAxkD", "caption": "Bakınız"})
    );
    tg.send(&outbound(
        &to,
        media(MediaKind::Audio, "voice1", "audio/ogg"),
    ))
    .expect("voice sent");
    assert_eq!(
        last_call(&fake, "sendVoice"),
        json!({"chat_id": CHAT, "voice": "voice1", "caption": "Bakınız"})
    );
    tg.send(&outbound(
        &to,
        media(MediaKind::Sticker, "st1", "image/webp"),
    ))
    .expect("sticker sent");
    assert_eq!(
        last_call(&fake, "sendSticker"),
        json!({"chat_id": CHAT, "sticker": "st1"})
    );

    tg.send(&outbound(
        &to,
        Content::Interactive(Interactive {
            header: Some("Sipariş #1042".into()),
            body: "Ne yapmak istersiniz?".into(),
            footer: None,
            choices: Choices::Buttons(vec![
                Button {
                    id: "track:1042".into(),
                    title: "Kargo takip".into(),
                },
                Button {
                    id: "agent".into(),
                    title: "Temsilci".into(),
                },
            ]),
        }),
    ))
    .expect("buttons sent");
    assert_eq!(
        last_call(&fake, "sendMessage"),
        json!({"chat_id": CHAT, "text": "Sipariş #1042\n\nNe yapmak istersiniz?", "reply_markup": {"inline_keyboard": [
            [{"text": "Kargo takip", "callback_data": "track:1042"}],
            [{"text": "Temsilci", "callback_data": "agent"}]]}})
    );
    tg.send(&outbound(
        &to,
        Content::Interactive(Interactive {
            header: None,
            body: "Bir ürün seçin".into(),
            footer: None,
            choices: Choices::Menu(Menu {
                button: "Seçenekler".into(),
                sections: vec![MenuSection {
                    title: None,
                    rows: vec![MenuRow {
                        id: "sku_1".into(),
                        title: "Kırmızı".into(),
                        description: Some("M beden".into()),
                    }],
                }],
            }),
        }),
    ))
    .expect("menu sent");
    assert_eq!(
        last_call(&fake, "sendMessage")["reply_markup"],
        json!({"inline_keyboard": [[{"text": "Kırmızı — M beden", "callback_data": "sku_1"}]]})
    );

    tg.send(&outbound(
        &to,
        Content::Location(Location {
            latitude: 41.0,
            longitude: 29.0,
            name: None,
            address: None,
        }),
    ))
    .expect("location sent");
    assert_eq!(
        last_call(&fake, "sendLocation"),
        json!({"chat_id": CHAT, "latitude": 41.0, "longitude": 29.0})
    );
    tg.send(&outbound(
        &to,
        Content::Location(Location {
            latitude: 41.0,
            longitude: 29.0,
            name: Some("Mağaza".into()),
            address: Some("Kadıköy".into()),
        }),
    ))
    .expect("venue sent");
    assert_eq!(
        last_call(&fake, "sendVenue"),
        json!({"chat_id": CHAT, "latitude": 41.0, "longitude": 29.0, "title": "Mağaza", "address": "Kadıköy"})
    );
    tg.send(&outbound(
        &to,
        Content::ContactCard(ContactCard {
            name: "Destek".into(),
            phones: vec!["+908501234567".into()],
            emails: vec![],
        }),
    ))
    .expect("contact sent");
    assert_eq!(
        last_call(&fake, "sendContact"),
        json!({"chat_id": CHAT, "phone_number": "+908501234567", "first_name": "Destek"})
    );

    let requests = fake.server.requests().len();
    let template = Content::Template(Template {
        name: "x".into(),
        language: "tr".into(),
        parameters: vec![],
    });
    assert!(matches!(
        tg.send(&outbound(&to, template)),
        Err(ProviderError::UnsupportedContent(_))
    ));
    assert!(matches!(
        tg.send(&outbound(
            &to,
            media(MediaKind::Image, &"0f".repeat(32), "image/jpeg")
        )),
        Err(ProviderError::Rejected(m)) if m.contains("only during `send`")
    ));
    assert_eq!(
        fake.server.requests().len(),
        requests,
        "refused before any request"
    );
}

#[test]
fn bot_api_errors_map_to_provider_errors() {
    let (fake, tg) = start();
    let text = || outbound(&CHAT.to_string(), Content::Text("hi".into()));
    let check = |failure: BotFailure, expected: &dyn Fn(&ProviderError) -> bool| {
        fake.state.fail_next(1, &failure);
        match tg.send(&text()) {
            Err(e) => assert!(expected(&e), "{failure:?} gave {e:?}"),
            Ok(sent) => panic!("{failure:?} gave {sent:?}"),
        }
    };
    check(
        BotFailure::too_many_requests(35),
        &|e| matches!(e, ProviderError::RateLimited(r) if r.retry_after_ms == Some(35_000)),
    );
    check(
        BotFailure::blocked(),
        &|e| matches!(e, ProviderError::InvalidRecipient(m) if m.contains("blocked")),
    );
    check(BotFailure::chat_not_found(), &|e| {
        matches!(e, ProviderError::InvalidRecipient(_))
    });
    check(BotFailure::server_error(), &|e| {
        matches!(e, ProviderError::TransientUpstream(_))
    });
    check(BotFailure::unauthorized(), &|e| {
        matches!(e, ProviderError::Auth(_))
    });
    check(
        BotFailure::new(400, "Bad Request: message is too long"),
        &|e| matches!(e, ProviderError::Rejected(_)),
    );
    let migrated = BotFailure {
        migrate_to_chat_id: Some(-1_001_234_567_890),
        ..BotFailure::new(
            400,
            "Bad Request: group chat was upgraded to a supergroup chat",
        )
    };
    check(
        migrated,
        &|e| matches!(e, ProviderError::InvalidRecipient(m) if m.contains("-1001234567890")),
    );
    assert!(tg.send(&text()).is_ok());

    let (_fake, wrong) = start_with_token("7000000001:wrong");
    assert!(matches!(wrong.send(&text()), Err(ProviderError::Auth(_))));
}

#[test]
fn fetch_media_uses_get_file_then_the_file_url() {
    let (fake, tg) = start();
    let bytes = b"\xff\xd8\xff\xe0 a jpeg".to_vec();
    fake.state.add_file("large", "photos/file_1.jpg", &bytes);
    let media = tg.fetch_media("large").expect("fetched");
    assert_eq!(media.bytes, bytes);
    assert_eq!(media.mime, "image/jpeg");
    assert_eq!(media.filename.as_deref(), Some("file_1.jpg"));
    let requests = fake.server.requests();
    assert_eq!(requests[0].path, format!("/bot{TOKEN}/getFile"));
    assert_eq!(requests[0].json(), json!({"file_id": "large"}));
    assert_eq!(requests[1].method, "GET");
    assert_eq!(
        requests[1].path,
        format!("/file/bot{TOKEN}/photos/file_1.jpg")
    );
    assert!(matches!(
        tg.fetch_media("nope"),
        Err(ProviderError::NotFound(_))
    ));
}

#[test]
fn capabilities_have_no_window_and_no_templates() {
    let (_fake, tg) = start();
    let caps = tg.plugin.capabilities(&tg.binding).expect("capabilities");
    assert_eq!(caps.service_window_secs, None);
    assert!(!caps.templates);
    assert!(caps.interactive);
    assert_eq!(tg.list_templates().expect("listed"), vec![]);
}

const PHOTO_REF: &str = "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3";
const INVOICE_REF: &str = "d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4";

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
fn an_appliance_photo_and_document_go_up_as_multipart() {
    let (fake, tg) = start();
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend((0..=255u8).cycle().take(100_000));
    let pdf = b"%PDF-1.7\r\n--\r\n%%EOF\n".repeat(1000);
    let files = || {
        Files::default()
            .with(PHOTO_REF, &png, "image/png", None)
            .with(INVOICE_REF, &pdf, "application/pdf", Some("fatura.pdf"))
    };
    let chat = CHAT.to_string();
    let sent = tg
        .send_with(
            &outbound(
                &chat,
                stored(
                    MediaKind::Image,
                    PHOTO_REF,
                    "image/png",
                    "Ürün fotoğrafı",
                    None,
                ),
            ),
            files(),
        )
        .expect("photo sent");
    assert!(sent.provider_message_id.starts_with(&format!("{CHAT}:")));
    tg.send_with(
        &outbound(
            &chat,
            stored(
                MediaKind::Document,
                INVOICE_REF,
                "application/pdf",
                "Faturanız",
                None,
            ),
        ),
        files(),
    )
    .expect("document sent");

    let uploads = fake.state.uploads();
    assert_eq!(uploads.len(), 2);
    assert_eq!(
        (uploads[0].method.as_str(), uploads[0].field.as_str()),
        ("sendPhoto", "photo")
    );
    assert_eq!(
        uploads[0].filename, "file.png",
        "a default name from the type"
    );
    assert_eq!(uploads[0].content_type.as_deref(), Some("image/png"));
    assert_eq!(uploads[0].bytes, png, "the photo arrives byte for byte");
    assert_eq!(
        (uploads[1].method.as_str(), uploads[1].field.as_str()),
        ("sendDocument", "document")
    );
    assert_eq!(uploads[1].filename, "fatura.pdf");
    assert_eq!(uploads[1].bytes, pdf, "the document arrives byte for byte");

    let calls = fake.state.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].method, "sendPhoto");
    assert_eq!(calls[0].params["chat_id"], json!(CHAT.to_string()));
    assert_eq!(calls[0].params["caption"], json!("Ürün fotoğrafı"));
    assert!(
        calls[0].params.get("photo").is_none(),
        "the file is a part, not a parameter"
    );
    assert_eq!(calls[1].params["caption"], json!("Faturanız"));
    let request = &fake.server.requests()[0];
    assert_eq!(request.path, format!("/bot{TOKEN}/sendPhoto"));
    assert!(
        request
            .header("content-type")
            .is_some_and(|c| c.starts_with("multipart/form-data; boundary=")),
        "{:?}",
        request.header("content-type")
    );
}

#[test]
fn the_fake_refuses_what_the_bot_api_refuses_in_an_upload() {
    let (fake, tg) = start();
    // A "photo" that is not an image: IMAGE_PROCESS_FAILED, not retried.
    let files = Files::default().with(PHOTO_REF, b"%PDF-1.7 not a photo", "image/png", None);
    let sent = tg.send_with(
        &outbound(
            &CHAT.to_string(),
            stored(MediaKind::Image, PHOTO_REF, "image/png", "x", None),
        ),
        files,
    );
    assert!(
        matches!(&sent, Err(ProviderError::Rejected(m)) if m.contains("IMAGE_PROCESS_FAILED")),
        "{sent:?}"
    );
    assert!(fake.state.uploads().is_empty());
    // A bot token the API does not know never reaches the upload.
    let (fake, tg) = start_with_token("7000000001:wrong");
    let files = Files::default().with(INVOICE_REF, b"%PDF-1.7", "application/pdf", None);
    let sent = tg.send_with(
        &outbound(
            &CHAT.to_string(),
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
    assert!(matches!(&sent, Err(ProviderError::Auth(_))), "{sent:?}");
    assert!(fake.state.uploads().is_empty());
}

#[test]
fn a_stored_file_is_not_readable_without_the_hosts_grant() {
    let (fake, tg) = start();
    let sent = tg.send(&outbound(
        &CHAT.to_string(),
        stored(
            MediaKind::Document,
            INVOICE_REF,
            "application/pdf",
            "x",
            None,
        ),
    ));
    assert!(
        matches!(&sent, Err(ProviderError::Rejected(m)) if m.contains("only during `send`")),
        "{sent:?}"
    );
    assert!(fake.server.requests().is_empty());
}
