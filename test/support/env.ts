/**
 * Loaded before every test file. Google's auth library must never probe the cloud metadata server
 * from this machine (off-machine traffic), so detection is off for the whole suite.
 */
process.env.METADATA_SERVER_DETECTION = 'none';
process.env.GOOGLE_CLOUD_PROJECT ??= 'enx-test-project';
