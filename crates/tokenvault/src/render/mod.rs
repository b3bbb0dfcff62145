//! How the command line shows results that more than one command returns: the service gives
//! data, these functions say it through the printer. (A command's own output stays in its file
//! under `cmd/`; what two commands show alike lives here, since no command imports another.)

pub mod mcp_secure;
