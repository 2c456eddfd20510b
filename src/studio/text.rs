//! Words and search hits in memory text, marked for display: which words of one description
//! another lacks (the inspector's lane diff, Phase Two's before/after), and which pieces of an
//! entry a search matched. One tokenizer for all of them, so every view marks the same words.

use std::collections::BTreeSet;

/// What a word is made of: letters, digits, and the world's `<face_N>` tokens whole.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '<' || c == '>'
}

/// Lower-cased words of a text, for the word diff.
fn words(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !is_word_char(c))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The words of `text` that `other` lacks are marked; everything else is plain.
#[must_use]
pub fn marked_words(text: &str, other: &str) -> Vec<(String, bool)> {
    let theirs = words(other);
    let mut out = Vec::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut Vec<(String, bool)>| {
        if !word.is_empty() {
            let marked = !theirs.contains(&word.to_lowercase());
            out.push((std::mem::take(word), marked));
        }
    };
    for c in text.chars() {
        if is_word_char(c) {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push((c.to_string(), false));
        }
    }
    flush(&mut word, &mut out);
    out
}

/// `text` cut into pieces, each marked when it is a search hit: every case-insensitive
/// occurrence of the whole query, and of each of its words (the memory search matches either).
#[must_use]
pub fn search_pieces(text: &str, query: &str) -> Vec<(String, bool)> {
    let query = query.trim().to_lowercase();
    // Lower-casing can change byte lengths outside ASCII: mark by characters.
    let chars: Vec<char> = text.chars().collect();
    let folded: Vec<char> = chars
        .iter()
        .map(|c| c.to_lowercase().next().unwrap_or(*c))
        .collect();
    let mut hit = vec![false; chars.len()];
    let needles = std::iter::once(query.as_str()).chain(query.split_whitespace());
    for needle in needles.filter(|n| !n.is_empty()) {
        let needle: Vec<char> = needle.chars().collect();
        for start in 0..=folded.len().saturating_sub(needle.len()) {
            if folded[start..].starts_with(&needle) {
                hit[start..start + needle.len()].fill(true);
            }
        }
    }
    let mut out: Vec<(String, bool)> = Vec::new();
    for (c, marked) in chars.into_iter().zip(hit) {
        match out.last_mut() {
            Some((piece, m)) if *m == marked => piece.push(c),
            _ => out.push((c.to_string(), marked)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_hits_are_marked_whole_query_and_each_word_ignoring_case() {
        let marked = |text: &str, query: &str| -> Vec<String> {
            search_pieces(text, query)
                .into_iter()
                .filter(|(_, hit)| *hit)
                .map(|(piece, _)| piece)
                .collect()
        };
        assert_eq!(marked("The Red key, the red cup", "red"), ["Red", "red"]);
        assert_eq!(
            marked("A red key on the table", "table red"),
            ["red", "table"]
        );
        assert!(marked("nothing here", "caltech").is_empty());
        let whole: String = search_pieces("Ünïcode TEXT", "text")
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        assert_eq!(whole, "Ünïcode TEXT", "the pieces put back are the text");
    }

    #[test]
    fn words_only_one_text_has_are_marked() {
        let marked: Vec<String> =
            marked_words("The red key is on the table.", "A key is on the table.")
                .into_iter()
                .filter(|(_, m)| *m)
                .map(|(w, _)| w)
                .collect();
        assert_eq!(marked, ["red"], "'The' matches 'the': case is ignored");
        let marked: Vec<String> = marked_words("I eat a red apple.", "I eat a green apple.")
            .into_iter()
            .filter(|(_, m)| *m)
            .map(|(w, _)| w)
            .collect();
        assert_eq!(
            marked,
            ["red"],
            "'apple.' matches 'apple': punctuation is not a word"
        );
    }
}
