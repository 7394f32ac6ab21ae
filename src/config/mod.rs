//! `config.yaml`: the structs and defaults (`model`), loading (`load`) and
//! the value and key checks (`validate`).
//!
//! `serde_yaml` stays inside this module. Loading collects every problem it
//! can find (type errors from the parser carry key and line; value checks
//! find the key's line in the text) so an admin fixes them all in one go.

/// The documented default file, written out when none exists.
pub const DEFAULT_CONFIG_TEXT: &str = include_str!("../../config.yaml");

mod load;
mod model;
mod validate;

pub use load::*;
pub use model::*;
pub use validate::parse_net;
use validate::*;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_factor_key_is_read_and_checked() {
        let (c, w) = parse("twoFactor:\n  requireForAdmins: true\n").unwrap();
        assert!(c.two_factor.require_for_admins);
        assert!(w.is_empty(), "{w:?}");
        assert!(!parse("").unwrap().0.two_factor.require_for_admins);
        let errors = parse("port: 8000\ntwoFactor:\n  requireForAdmins: maybe\n").unwrap_err();
        assert!(
            errors
                .iter()
                .any(|e| e.contains("requireForAdmins") && e.contains("line 3")),
            "{errors:?}"
        );
        let (_, w) = parse("twoFactor:\n  requireForAdmin: true\n").unwrap();
        assert!(
            w.iter().any(|w| w.contains("twoFactor.requireForAdmin")),
            "{w:?}"
        );
    }

    #[test]
    fn empty_text_gives_defaults() {
        let (c, w) = parse("").unwrap();
        assert_eq!(c.port, 8000);
        assert!(c.enable_user_accounts);
        assert!(w.is_empty());
    }

    #[test]
    fn shipped_default_parses_without_warnings() {
        let (c, w) = parse(DEFAULT_CONFIG_TEXT).unwrap();
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(c.password_hash.log_n, 15);
        assert_eq!(c.whitelist, vec!["127.0.0.1", "::1"]);
    }

    #[test]
    fn type_error_names_key_and_line() {
        let err = parse("listen: false\nport: lots\n").unwrap_err();
        assert!(err[0].contains("port"), "{err:?}");
        assert!(err[0].contains("line 2"), "{err:?}");
        let err = parse("hooks:\n  dir: x\n  timeoutMs: soon\n").unwrap_err();
        assert!(err[0].contains("hooks.timeoutMs"), "{err:?}");
        assert!(err[0].contains("line 3"), "{err:?}");
    }

    #[test]
    fn value_errors_are_collected_with_lines() {
        let text = "port: 8000\nrecovery:\n  codeDigits: 2\nwhitelist:\n  - nonsense\nhooks:\n  timeoutMs: 0\n";
        let err = parse(text).unwrap_err();
        assert_eq!(err.len(), 3, "{err:?}");
        assert!(err
            .iter()
            .any(|e| e.starts_with("hooks.timeoutMs:") && e.contains("line 7")));
        assert!(err
            .iter()
            .any(|e| e.contains("whitelist") && e.contains("line 4")));
        assert!(err
            .iter()
            .any(|e| e.contains("recovery.codeDigits") && e.contains("line 3")));
    }

    #[test]
    fn unknown_keys_warn_but_sillytavern_keys_do_not() {
        let text = "autorun: true\nrequestProxy:\n  enabled: false\nextras:\n  disableAutoDownload: false\nopenai:\n  randomizeUserId: false\nprotocol:\n  ipv4: true\nportt: 9\nhooks:\n  dirr: x\n";
        let (_, w) = parse(text).unwrap();
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(
            w[0].contains("'portt'") && w[0].contains("line 10"),
            "{w:?}"
        );
        assert!(
            w[1].contains("'hooks.dirr'") && w[1].contains("line 12"),
            "{w:?}"
        );
    }

    #[test]
    fn sillytavern_keys_pass_and_typos_in_every_section_warn() {
        // Every top-level key of SillyTavern 1.12.6's own config.yaml.
        let st = "dataRoot: ./data\nlisten: false\nprotocol:\n  ipv4: true\n  ipv6: false\n\
                  dnsPreferIPv6: false\nautorunHostname: auto\nport: 8000\nautorunPortOverride: -1\n\
                  whitelistMode: true\nenableForwardedWhitelist: true\nwhitelist: [127.0.0.1]\n\
                  basicAuthMode: false\nbasicAuthUser:\n  username: u\n  password: p\n\
                  enableCorsProxy: false\nrequestProxy:\n  enabled: false\n  url: ''\n  bypass: []\n\
                  enableUserAccounts: false\nenableDiscreetLogin: false\nsessionTimeout: 86400\n\
                  cookieSecret: ''\ndisableCsrfProtection: false\nsecurityOverride: false\n\
                  autorun: true\navoidLocalhost: false\ndisableThumbnails: false\n\
                  thumbnailsQuality: 95\navatarThumbnailsPng: false\nallowKeysExposure: false\n\
                  skipContentCheck: false\ndisableChatBackup: false\nnumberOfBackups: 50\n\
                  chatBackupThrottleInterval: 10000\nwhitelistImportDomains: [localhost]\n\
                  requestOverrides: []\nenableExtensions: true\nenableExtensionsAutoUpdate: true\n\
                  enableDownloadableTokenizers: true\nvectors:\n  enableModelScopes: false\n\
                  extras:\n  disableAutoDownload: false\nopenai:\n  randomizeUserId: false\n\
                  deepl:\n  formality: default\nmistral:\n  enablePrefix: false\n\
                  ollama:\n  keepAlive: -1\nclaude:\n  enableSystemPromptCache: false\n\
                  enableServerPlugins: false\n";
        let (_, w) = parse(st).unwrap();
        assert!(w.is_empty(), "{w:?}");
        for (text, key) in [
            ("protocol:\n  ipv4: true\n  ipv66: true\n", "protocol.ipv66"),
            ("basicAuthUser:\n  usernam: x\n", "basicAuthUser.usernam"),
            (
                "backups:\n  allowFullDataBackupp: true\n",
                "backups.allowFullDataBackupp",
            ),
            (
                "sso:\n  trustedHeader:\n    enabeld: true\n",
                "sso.trustedHeader.enabeld",
            ),
            (
                "app:\n  sillytavern:\n    dirr: x\n",
                "app.sillytavern.dirr",
            ),
            ("limits:\n  jsonMB: 2\n", "limits.jsonMB"),
        ] {
            let (_, w) = parse(text).unwrap();
            assert!(
                w.len() == 1 && w[0].contains(&format!("'{key}'")),
                "{text:?}: {w:?}"
            );
        }
    }

    #[test]
    fn stacks_take_true_false_or_auto() {
        let (c, _) = parse("protocol:\n  ipv4: auto\n  ipv6: true\n").unwrap();
        assert_eq!(c.protocol.ipv4, Stack::Auto);
        assert_eq!(c.protocol.ipv6, Stack::On);
        let err = parse("protocol:\n  ipv4: maybe\n").unwrap_err();
        assert!(
            err[0].contains("protocol") && err[0].contains("line 2") && err[0].contains("auto"),
            "{err:?}"
        );
        let err = parse("protocol:\n  ipv4: false\n  ipv6: false\n").unwrap_err();
        assert!(err[0].contains("protocol"), "{err:?}");
    }

    #[test]
    fn key_line_follows_nesting() {
        let text =
            "a: 1\nsso:\n  logoutUrl: x\n  trustedHeader:\n    enabled: true\nb:\n  enabled: 2\n";
        assert_eq!(key_line(text, "sso.trustedHeader.enabled"), Some(5));
        assert_eq!(key_line(text, "b.enabled"), Some(7));
        assert_eq!(key_line(text, "sso.enabled"), None);
    }

    #[test]
    fn paths_resolve_against_the_config_folder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("conf").join("config.yaml");
        let loaded = load(&path, &Overrides::default()).unwrap();
        assert!(loaded.created);
        assert!(path.exists());
        assert_eq!(
            loaded.config.data_root,
            dir.path().join("conf").join("./data")
        );
        let again = load(
            &path,
            &Overrides {
                port: Some(9),
                ..Default::default()
            },
        )
        .unwrap();
        assert!(!again.created);
        assert_eq!(again.config.port, 9);
    }
}
