//! Version compatibility and the `attachments` import: a component built
//! against 0.1.0 still runs; a channel's `send` reads the files of the
//! message it sends, nothing else, within its memory and time budgets.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use omnigate_plugin_host::services::{AttachmentFailure, StoredAttachment};
use omnigate_plugin_host::types::Content;
use omnigate_plugin_host::types::channel::{OutboundMessage, ProviderError};
use omnigate_plugin_host::types::{Media, MediaKind};
use omnigate_plugin_host::{AttachmentSource, Binding, Settings};

use crate::support::{fixture, load};

const INVOICE: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const SOMEONE_ELSES: &str = "2222222222222222222222222222222222222222222222222222222222222222";

/// Files by reference; records the limits the host asked for.
#[derive(Default)]
struct Files {
    files: HashMap<String, StoredAttachment>,
    asked: Mutex<Vec<(String, u64, Instant)>>,
}

impl Files {
    fn with(mut self, reference: &str, bytes: Vec<u8>, filename: &str) -> Files {
        self.files.insert(
            reference.to_owned(),
            StoredAttachment {
                bytes,
                content_type: "application/pdf".into(),
                filename: Some(filename.to_owned()),
            },
        );
        self
    }
}

impl AttachmentSource for Files {
    fn read(
        &self,
        reference: &str,
        max_bytes: u64,
        deadline: Instant,
    ) -> Result<StoredAttachment, AttachmentFailure> {
        if let Ok(mut asked) = self.asked.lock() {
            asked.push((reference.to_owned(), max_bytes, deadline));
        }
        let file = self
            .files
            .get(reference)
            .ok_or_else(|| AttachmentFailure::NotFound(reference.to_owned()))?;
        if file.bytes.len() as u64 > max_bytes {
            return Err(AttachmentFailure::TooLarge {
                size: file.bytes.len() as u64,
                limit: max_bytes,
            });
        }
        Ok(file.clone())
    }
}

fn media(reference: &str, caption: Option<&str>) -> OutboundMessage {
    OutboundMessage {
        recipient: "905321112233".into(),
        content: Content::Media(Media {
            kind: MediaKind::Document,
            reference: reference.into(),
            mime: "application/pdf".into(),
            size_bytes: None,
            caption: caption.map(str::to_owned),
            filename: Some("fatura.pdf".into()),
        }),
        reply_to: None,
        idempotency_key: "k1".into(),
        extensions: Vec::new(),
    }
}

fn binding() -> Binding {
    Binding::isolated(Settings::default())
}

#[test]
fn a_component_built_against_0_1_0_loads_and_every_import_answers() {
    let f = fixture();
    let plugin = load(&f, "interface-0-1-0");
    assert_eq!(plugin.manifest().interface, "0.1.0");
    let message = |text: &str| OutboundMessage {
        recipient: "1".into(),
        content: Content::Text(text.into()),
        reply_to: None,
        idempotency_key: "k".into(),
        extensions: Vec::new(),
    };
    let mut settings = Settings::default();
    settings.config.insert("prefix".into(), "> ".into());
    let binding = Binding::isolated(settings);
    let first = plugin.send(&binding, &message("merhaba"));
    assert!(
        matches!(&first, Ok(Ok(s)) if s.provider_message_id == "legacy-1-200-1750000000000"),
        "{first:?}"
    );
    let second = plugin.send(&binding, &message("again"));
    assert!(
        matches!(&second, Ok(Ok(s)) if s.provider_message_id.starts_with("legacy-2-200-")),
        "{second:?}"
    );
    let requests = f
        .http
        .requests
        .lock()
        .map(|r| r.clone())
        .unwrap_or_default();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].0, "interface-0-1-0@0.1.0");
    assert_eq!(requests[0].1.body, b"> merhaba");
    assert!(plugin.capabilities(&binding).is_ok());
}

#[test]
fn send_reads_the_messages_attachment_and_uploads_its_bytes() {
    let f = fixture();
    let plugin = load(&f, "well-behaved");
    let pdf: Vec<u8> = b"%PDF-1.7\n"
        .iter()
        .copied()
        .cycle()
        .take(300_000)
        .collect();
    let files = Arc::new(Files::default().with(INVOICE, pdf.clone(), "fatura.pdf"));
    let started = Instant::now();
    let sent = plugin.send_with_attachments(&binding(), &media(INVOICE, None), files.clone());
    assert!(
        matches!(&sent, Ok(Ok(s)) if s.provider_message_id == "upload-300000-fatura.pdf-200"),
        "{sent:?}"
    );
    let requests = f
        .http
        .requests
        .lock()
        .map(|r| r.clone())
        .unwrap_or_default();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].1.url, "https://api.example.test/upload");
    assert_eq!(requests[0].1.body, pdf, "the bytes arrive unchanged");
    let asked = files.asked.lock().map(|a| a.clone()).unwrap_or_default();
    assert_eq!(asked.len(), 1);
    let (reference, max_bytes, deadline) = &asked[0];
    assert_eq!(reference, INVOICE);
    // Half of what a 16 MiB budget has left, less headroom.
    assert!(
        *max_bytes > 1_000_000 && *max_bytes < 8 * 1024 * 1024,
        "{max_bytes}"
    );
    // The call's own deadline (a 1000 ms budget).
    assert!(*deadline <= started + Duration::from_millis(1100));
}

#[test]
fn reads_outside_the_message_or_outside_send_are_refused() {
    let f = fixture();
    let plugin = load(&f, "well-behaved");
    let files = Arc::new(
        Files::default()
            .with(INVOICE, b"%PDF-1.7 ours".to_vec(), "fatura.pdf")
            .with(SOMEONE_ELSES, b"%PDF-1.7 theirs".to_vec(), "secret.pdf"),
    );
    let probe = media(INVOICE, Some(&format!("read:{SOMEONE_ELSES}")));
    let sent = plugin.send_with_attachments(&binding(), &probe, files.clone());
    assert!(
        matches!(&sent, Ok(Err(ProviderError::Rejected(m))) if m.contains("is not an attachment of the message being sent")),
        "{sent:?}"
    );
    // Refused by the host: the embedder was never asked for the other file.
    let asked = files.asked.lock().map(|a| a.clone()).unwrap_or_default();
    assert!(
        asked.iter().all(|(r, _, _)| r != SOMEONE_ELSES),
        "{asked:?}"
    );
    // A send without a grant reads nothing.
    let ungranted = plugin.send(&binding(), &media(INVOICE, None));
    assert!(
        matches!(&ungranted, Ok(Err(ProviderError::Rejected(m))) if m.contains("only during `send`")),
        "{ungranted:?}"
    );
    // Nor does any other call, even on a warm instance that just sent one.
    let warm = Binding::reusing(Settings::default(), 10);
    let sent = plugin.send_with_attachments(&warm, &media(INVOICE, None), files.clone());
    assert!(matches!(&sent, Ok(Ok(_))), "{sent:?}");
    let fetched = plugin.fetch_media(&warm, &format!("attachment:{INVOICE}"));
    assert!(
        matches!(&fetched, Ok(Err(ProviderError::Rejected(m))) if m.contains("only during `send`")),
        "{fetched:?}"
    );
    assert!(f.http.requests.lock().map(|r| r.len()).unwrap_or(0) == 1);
}

#[test]
fn a_file_too_big_for_the_memory_budget_is_an_error_the_agent_reads_not_a_trap() {
    let f = fixture();
    let plugin = load(&f, "well-behaved");
    let files = Arc::new(Files::default().with(INVOICE, vec![b'x'; 12 * 1024 * 1024], "big.pdf"));
    for _ in 0..6 {
        let sent = plugin.send_with_attachments(&binding(), &media(INVOICE, None), files.clone());
        assert!(
            matches!(&sent, Ok(Err(ProviderError::UnsupportedContent(m)))
                if m.contains("12582912 bytes") && m.contains("can upload at most")),
            "{sent:?}"
        );
    }
    // Answered, not trapped: no failure counted, the breaker stays closed.
    assert!(!plugin.is_disabled());
    assert_eq!(plugin.metrics().errors, 0);
    assert!(
        f.http
            .requests
            .lock()
            .map(|r| r.is_empty())
            .unwrap_or(false)
    );
}

/// A disk so slow that the call's deadline passes first.
struct Slow;

impl AttachmentSource for Slow {
    fn read(
        &self,
        _reference: &str,
        _max_bytes: u64,
        deadline: Instant,
    ) -> Result<StoredAttachment, AttachmentFailure> {
        std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
        Err(AttachmentFailure::Timeout)
    }
}

#[test]
fn reading_is_bounded_by_the_calls_time_budget() {
    let f = fixture();
    let plugin = load(&f, "well-behaved");
    let started = Instant::now();
    let sent = plugin.send_with_attachments(&binding(), &media(INVOICE, None), Arc::new(Slow));
    // The plugin either reports the timeout or is interrupted at its
    // budget; either way the call ends within it.
    match &sent {
        Ok(Err(ProviderError::TransientUpstream(m))) => assert!(m.contains("budget"), "{m}"),
        Err(e) => assert!(e.to_string().contains("time budget"), "{e}"),
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() < Duration::from_millis(1500));
}
