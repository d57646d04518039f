/**
 * Imported first by local/main.ts, before anything that might load a Google library: with
 * detection off, google-auth-library never probes the cloud metadata server (169.254.169.254),
 * which from this machine would be traffic off it.
 */
process.env.METADATA_SERVER_DETECTION = 'none';

export {};
