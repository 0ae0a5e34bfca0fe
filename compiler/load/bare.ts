// The variables playlabs reads bare as well as prefixed: `name|default(<prefix>_<instance>_name)`
// in roles/project/vars/main.yml and the plugins' vars.yml. A bare one wins over the prefixed one.
// resolve imports this list (pure data) to apply that precedence.

export const BARE_VARIABLES: readonly string[] = [
  "image", "home", "backup_password", "dns", "dns_redirect", "htaccess", "networks", "secure", "plugins",
  "letsencrypt_email", "letsencrypt_environment", "letsencrypt_uri", "slack_token", "slack_channel", "timeout",
  "postgres_password", "postgres_db", "postgres_user", "postgres_home", "postgres_data_home", "postgres_data_mount",
  "postgres_run_home", "postgres_run_mount",
];
