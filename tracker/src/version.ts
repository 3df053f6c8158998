/** Sent as context.library.version; bump with every change to what the SDK sends. */
export const VERSION = '0.1.0';
export const LIBRARY_NAME = 'clickstream-tracker';
