//! The one way JSON files are written: four-space indentation and a final
//! newline, as SillyTavern writes settings.json and as the web pages show
//! it, so a file looks the same whichever side saved it last.

use serde::Serialize;

/// `value` as the text of a JSON file.
pub fn to_file_text(value: &impl Serialize) -> Result<String, serde_json::Error> {
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    value.serialize(&mut ser)?;
    out.push(b'\n');
    // serde_json writes UTF-8 only.
    Ok(String::from_utf8(out).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    #[test]
    fn four_spaces_and_a_final_newline() {
        let text = super::to_file_text(&serde_json::json!({ "a": { "b": [1] } })).unwrap();
        assert_eq!(
            text,
            "{\n    \"a\": {\n        \"b\": [\n            1\n        ]\n    }\n}\n"
        );
    }
}
