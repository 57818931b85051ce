//! Masking of personal fields (phones, ID numbers) in answers and exports.

/// `13812345678` → `138****5678`; shorter numbers keep their first and last two characters.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().filter(|c| !c.is_whitespace()).collect();
    let n = chars.len();
    if n == 0 {
        return String::new();
    }
    let (head, tail) = if n >= 11 {
        (3, 4)
    } else if n >= 6 {
        (2, 2)
    } else {
        (0, 0)
    };
    mask_middle(&chars, head, tail)
}

/// An 18-character ID number keeps its region (6) and its last 4 characters:
/// `350302199001011234` → `350302********1234`.
pub fn mask_id_number(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    let n = chars.len();
    let (head, tail) = if n >= 15 {
        (6, 4)
    } else if n >= 8 {
        (2, 2)
    } else {
        (0, 0)
    };
    mask_middle(&chars, head, tail)
}

fn mask_middle(chars: &[char], head: usize, tail: usize) -> String {
    let n = chars.len();
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| if i < head || i + tail >= n { *c } else { '*' })
        .collect()
}

/// Whether a value was masked (holds a `*`).
pub fn is_masked(s: &str) -> bool {
    s.contains('*')
}

/// A phone as accepted on input: 5–20 digits, with `+`, `-` and spaces allowed between.
pub fn valid_phone(s: &str) -> bool {
    let digits = s.chars().filter(char::is_ascii_digit).count();
    (5..=20).contains(&digits)
        && s.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' '))
        && s.len() <= 30
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_only_the_ends() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("0594-2345678"), "059*****5678");
        assert_eq!(mask_phone(""), "");
        assert_eq!(mask_id_number("350302199001011234"), "350302********1234");
        assert_eq!(mask_id_number("35030219900101123X"), "350302********123X");
        assert!(is_masked(&mask_phone("13812345678")));
        assert!(valid_phone("0594-2345678") && !valid_phone("abc") && !valid_phone("138****5678"));
    }
}
