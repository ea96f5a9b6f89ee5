//! Matching a search query against product names, for shops whose API
//! has no name filter (Ticimax) or an unreliable one.

/// Lower case the Turkish way for matching: `İ`, `I`, `ı` and `i` all
/// become `i` (a customer types `tisort` or `TİŞÖRT` for `Tişört`), and
/// the combining dot that `İ` leaves in Unicode's default lower-casing
/// is dropped.
pub fn fold(text: &str) -> String {
    text.chars()
        .flat_map(char::to_lowercase)
        .filter(|c| *c != '\u{307}')
        .map(|c| if c == 'ı' { 'i' } else { c })
        .collect()
}

/// Whether every word of `query` occurs in `text`, ignoring case as
/// [`fold`] does. An empty query matches everything.
pub fn matches_all_words(text: &str, query: &str) -> bool {
    let text = fold(text);
    fold(query)
        .split_whitespace()
        .all(|word| text.contains(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_turkish_i() {
        assert_eq!(fold("TİŞÖRT"), "tişört");
        assert_eq!(fold("IŞIK"), "işik");
        assert_eq!(fold("ışık"), "işik");
        assert!(matches_all_words("Pamuklu Tişört Mavi", "tişört MAVİ"));
        assert!(!matches_all_words("Pamuklu Tişört", "kazak"));
        assert!(matches_all_words("anything", "  "));
    }
}
