//! Text helpers shared by evidence capture and the report renderers.

/// At most `max` characters of `s`, with a note of how much was cut.
pub fn trim_chars(s: &str, max: usize) -> String {
    let s = s.trim_end();
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some((i, _)) => {
            let rest = s[i..].chars().count();
            format!("{}… [{rest} more chars]", &s[..i])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_on_characters_and_says_how_much_was_cut() {
        assert_eq!(trim_chars("héllo", 10), "héllo");
        assert_eq!(trim_chars("ééééé", 2), "éé… [3 more chars]");
    }
}
