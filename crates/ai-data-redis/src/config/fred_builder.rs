//! A [`RedisConfig`] as a fred pool builder, TLS included.

use ai_data_core::{Error, ExposeSecret, Result, Store};
use fred::types::config::{Config as FredConfig, Server, ServerConfig, TcpConfig, TlsConnector};
use fred::types::Builder;

use super::{HostPort, RedisConfig, Topology, DEFAULT_PORT};

impl RedisConfig {
    /// A fred builder for this configuration (the secret goes into fred's
    /// config, which this crate never logs or shows).
    pub(crate) fn fred_builder(&self) -> Result<Builder> {
        self.validate()?;
        let password = self
            .connection
            .secret
            .as_ref()
            .map(|s| s.expose_secret().to_owned());
        let username = self.connection.effective_username();
        let servers = |list: Vec<HostPort>| -> Vec<Server> {
            list.into_iter()
                .map(|hp| Server::new(hp.host, hp.port))
                .collect()
        };
        let server = match &self.topology {
            Topology::Standalone => ServerConfig::Centralized {
                server: servers(self.endpoints())
                    .into_iter()
                    .next()
                    .unwrap_or_else(|| Server::new("localhost", DEFAULT_PORT)),
            },
            Topology::Sentinel {
                service_name,
                sentinels,
                sentinel_auth,
            } => ServerConfig::Sentinel {
                hosts: servers(sentinels.clone()),
                service_name: service_name.clone(),
                username: if *sentinel_auth {
                    username.clone()
                } else {
                    None
                },
                password: if *sentinel_auth {
                    password.clone()
                } else {
                    None
                },
            },
            Topology::Cluster { nodes } => ServerConfig::Clustered {
                hosts: servers(nodes.clone()),
                policy: Default::default(),
            },
        };
        let mut fred = FredConfig {
            fail_fast: true,
            username,
            password,
            server,
            database: match (&self.topology, self.database()?) {
                (Topology::Cluster { .. }, _) | (_, 0) => None,
                (_, db) => Some(db),
            },
            ..FredConfig::default()
        };
        if self.uses_tls()? {
            fred.tls = Some(self.tls_connector()?.into());
        }
        let mut builder = Builder::from_config(fred);
        let connect_timeout = self.connection.connect_timeout;
        builder
            .with_connection_config(|c| {
                c.connection_timeout = connect_timeout;
                c.internal_command_timeout = connect_timeout;
                c.tcp = TcpConfig {
                    nodelay: Some(true),
                    ..TcpConfig::default()
                };
            })
            .with_performance_config(|p| {
                p.default_command_timeout = self.command_timeout;
            })
            .set_policy(self.reconnect.to_fred());
        Ok(builder)
    }

    fn tls_connector(&self) -> Result<TlsConnector> {
        use fred::rustls::{self, pki_types::pem::PemObject, pki_types::CertificateDer};
        let mut roots = rustls::RootCertStore::empty();
        let native = fred::rustls_native_certs::load_native_certs();
        for cert in native.certs {
            let _ = roots.add(cert);
        }
        if let Some(ca) = &self.connection.tls.ca_file {
            let var = Store::Redis.var("TLS_CA_FILE");
            let certs = CertificateDer::pem_file_iter(ca)
                .and_then(|it| it.collect::<std::result::Result<Vec<_>, _>>())
                .map_err(|e| {
                    Error::config(format!(
                        "{var}: cannot read PEM certificates from {}: {e}",
                        ca.display()
                    ))
                    .with_store(Store::Redis)
                })?;
            for cert in certs {
                roots.add(cert).map_err(|e| {
                    Error::config(format!(
                        "{var}: invalid CA certificate in {}: {e}",
                        ca.display()
                    ))
                    .with_store(Store::Redis)
                })?;
            }
        }
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let client = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::config(format!("TLS setup failed: {e}")).with_store(Store::Redis))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(TlsConnector::from(client))
    }
}
