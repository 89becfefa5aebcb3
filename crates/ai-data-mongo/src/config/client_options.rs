//! [`MongoConfig`] mapped onto the driver's [`ClientOptions`]: the URL
//! parsed by the driver, then the seed list, credential, Mongo options,
//! timeouts, pool and TLS applied on top.

use mongodb::options::{ClientOptions, Credential, ServerAddress, Tls, TlsOptions};

use ai_data_core::{Error, ExposeSecret, Result, Store, TlsMode};

use super::MongoConfig;

impl MongoConfig {
    /// The driver options: the URL parsed by the driver (password
    /// restored), then every explicit setting applied on top.
    ///
    /// Needs no server, except for the DNS lookups of a `mongodb+srv://` URL.
    pub async fn client_options(&self) -> Result<ClientOptions> {
        let conn = &self.connection;
        let mut options = match &conn.url {
            Some(url) => {
                let exposed = url.expose_url();
                let encoded = exposed.password().map(str::to_owned);
                ClientOptions::parse(exposed.as_str()).await.map_err(|e| {
                    let secrets = [
                        conn.secret.as_ref().map(|s| s.expose_secret().to_owned()),
                        encoded,
                    ];
                    parse_error(&e.to_string(), &secrets)
                })?
            }
            None => ClientOptions::default(),
        };

        let port = conn
            .port
            .or_else(|| conn.url.as_ref().and_then(|u| u.port()));
        let hosts: Vec<String> = if !self.hosts.is_empty() {
            self.hosts.clone()
        } else if let Some(host) = conn.host.as_deref() {
            split_hosts(host)
        } else {
            Vec::new()
        };
        if !hosts.is_empty() {
            options.hosts = hosts
                .iter()
                .map(|h| server_address(h, port))
                .collect::<Result<_>>()?;
        } else if let (Some(port), None) = (conn.port, conn.host.as_ref()) {
            for address in &mut options.hosts {
                if let ServerAddress::Tcp { port: p, .. } = address {
                    *p = Some(port);
                }
            }
        }

        options.default_database = Some(self.database().to_owned());
        options.credential = self.credential(options.credential.take())?;
        if let Some(name) = &self.replica_set {
            options.repl_set_name = Some(name.clone());
        }
        if let Some(direct) = self.direct_connection {
            options.direct_connection = Some(direct);
        }
        if let Some(name) = &self.app_name {
            options.app_name = Some(name.clone());
        }
        options.server_selection_timeout = Some(self.server_selection_timeout);
        options.connect_timeout = Some(conn.connect_timeout);
        options.max_pool_size = Some(conn.pool.max_size);
        options.min_pool_size = Some(conn.pool.min_idle);
        options.max_idle_time = conn.pool.idle_timeout;
        self.apply_tls(&mut options)?;
        Ok(options)
    }

    fn credential(&self, from_url: Option<Credential>) -> Result<Option<Credential>> {
        let conn = &self.connection;
        let configured = conn.effective_username().is_some();
        let Some(username) = self.username() else {
            return Ok(from_url);
        };
        let mut credential = from_url.unwrap_or_default();
        credential.username = Some(username);
        credential.password = conn.secret.as_ref().map(|s| s.expose_secret().to_owned());
        credential.source = self
            .auth_source
            .clone()
            .or(credential.source)
            .or_else(|| conn.effective_database().map(str::to_owned))
            // The seed creates its application user in the platform database.
            .or_else(|| (!configured).then(|| self.database().to_owned()));
        Ok(Some(credential))
    }

    fn apply_tls(&self, options: &mut ClientOptions) -> Result<()> {
        let tls = &self.connection.tls;
        let ca_file_path = tls.ca_file.clone();
        let with_ca = |allow_invalid: Option<bool>| {
            let mut o = TlsOptions::default();
            o.ca_file_path = ca_file_path.clone();
            o.allow_invalid_certificates = allow_invalid;
            Tls::Enabled(o)
        };
        match tls.mode {
            None | Some(TlsMode::Prefer) => {
                // Leave TLS as the URL says; a CA file is added to TLS the
                // URL turned on, and a CA file alone (no mode, no `tls=`
                // in the URL) turns TLS on.
                options.tls = match (options.tls.take(), ca_file_path.is_some()) {
                    (Some(Tls::Enabled(mut o)), true) => {
                        o.ca_file_path = ca_file_path.clone();
                        Some(Tls::Enabled(o))
                    }
                    (None, true) if tls.mode.is_none() => Some(with_ca(None)),
                    (other, _) => other,
                };
            }
            Some(TlsMode::Disable) => options.tls = Some(Tls::Disabled),
            Some(TlsMode::Require) => options.tls = Some(with_ca(Some(true))),
            Some(TlsMode::VerifyFull) => options.tls = Some(with_ca(None)),
            Some(TlsMode::VerifyCa) => {
                return Err(Error::unsupported(
                    "AI_DATA_MONGO_TLS_MODE=verify-ca (skip the host-name check) needs the \
                     OpenSSL build of the MongoDB driver; use verify-full or require",
                )
                .with_store(Store::Mongo))
            }
            Some(_) => {
                return Err(Error::unsupported("unknown TLS mode").with_store(Store::Mongo));
            }
        }
        Ok(())
    }
}

/// `a:1,b:2` -> `["a:1", "b:2"]`, blanks dropped.
pub(super) fn split_hosts(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `host`, `host:port`, `[v6]` or `[v6]:port` -> a TCP address, with
/// `default_port` when the entry has none.
fn server_address(entry: &str, default_port: Option<u16>) -> Result<ServerAddress> {
    let invalid =
        || Error::config(format!("invalid MongoDB host entry {entry:?}")).with_store(Store::Mongo);
    let (host, port) = if let Some(rest) = entry.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(invalid)?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse::<u16>().map_err(|_| invalid())?),
            None if after.is_empty() => None,
            None => return Err(invalid()),
        };
        (host.to_owned(), port)
    } else {
        match entry.rsplit_once(':') {
            Some((host, p)) => (
                host.to_owned(),
                Some(p.parse::<u16>().map_err(|_| invalid())?),
            ),
            None => (entry.to_owned(), None),
        }
    };
    if host.is_empty() {
        return Err(invalid());
    }
    Ok(ServerAddress::Tcp {
        host,
        port: port.or(default_port),
    })
}

/// A driver parse error as a config error, with any trace of the secret
/// (decoded or as written in the URL) removed.
fn parse_error(driver_message: &str, secrets: &[Option<String>]) -> Error {
    let mut message = driver_message.to_owned();
    for secret in secrets.iter().flatten().filter(|s| !s.is_empty()) {
        message = message.replace(secret.as_str(), "***");
    }
    Error::config(format!(
        "AI_DATA_MONGO_URL is not a valid MongoDB connection string: {message}"
    ))
    .with_store(Store::Mongo)
}
