//! "Did you mean ..?": the nearest known name to a misspelled one, for error
//! messages about step names.

/// `"; did you mean `x`?"` when one of `known` is within two edits of `name` (and
/// closer than any other), else an empty string.
pub(crate) fn did_you_mean<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    known
        .into_iter()
        .filter(|candidate| *candidate != name)
        .map(|candidate| (strsim::damerau_levenshtein(name, candidate), candidate))
        .filter(|(distance, _)| *distance <= 2)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| format!("; did you mean `{candidate}`?"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_nearest_name_only_when_close() {
        let known = ["oidc_token", "app_token", "device_token"];
        assert_eq!(
            did_you_mean("oidc_tokn", known),
            "; did you mean `oidc_token`?"
        );
        assert_eq!(
            did_you_mean("app_tkoen", known),
            "; did you mean `app_token`?"
        );
        assert_eq!(did_you_mean("billing", known), "");
        assert_eq!(did_you_mean("app_token", known), "");
    }
}
