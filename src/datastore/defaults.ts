/**
 * Defaults shared by the datastore's modules, kept apart from config.ts so that a module needing one of them
 * (the SQLite backend, which every CNI plugin run loads) does not also load the YAML parser.
 */
export const DEFAULT_DATASTORE_PATH = '/var/lib/calico/calico.db';
