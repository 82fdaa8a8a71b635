// The CLI's version, sent in its User-Agent and shown to whoever approves a login.
export const VERSION = '0.1.0';
