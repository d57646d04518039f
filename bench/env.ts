/**
 * Imported first by bench/main.ts, before anything that could load Google's auth library: the
 * benchmarks never probe the cloud metadata server from this machine (off-machine traffic).
 */
process.env.METADATA_SERVER_DETECTION = 'none';
process.env.GOOGLE_CLOUD_PROJECT ??= 'enx-bench-project';

export {};
