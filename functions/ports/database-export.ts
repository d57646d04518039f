/**
 * A full export of the application database (Cloud SQL Admin export to a Cloud Storage bucket in
 * production, pg_dump of the embedded database locally). Jobs see this narrow interface.
 */
export interface ExportRequest {
  /**
   * The object (or file) name to write, chosen by the caller so it carries the tick's identity:
   * every successful run is findable and names sort by tick time.
   */
  readonly objectName: string;
  readonly signal?: AbortSignal;
}

export interface ExportResult {
  /** Where the export landed: `gs://bucket/object` or a local file path. */
  readonly uri: string;
  /** Bytes written, when the store reports it. */
  readonly sizeBytes?: number;
  /** The export operation's name (Cloud SQL) or a description of the local command. */
  readonly operation: string;
}

export interface DatabaseExport {
  /**
   * Starts the export and resolves only once it has finished successfully; an operation that ends
   * in an error, or is still running when `signal` aborts, rejects with an error naming the
   * operation, the instance or file, and what to check.
   */
  exportDatabase(request: ExportRequest): Promise<ExportResult>;
  /**
   * Removes incomplete output that runs killed mid-export left behind, untouched since `olderThan`
   * (so a dump still being written is never removed); returns what was removed. Only exports that
   * write partial output of their own have it (the local pg_dump); a Cloud SQL export's object is
   * written by Cloud SQL.
   */
  removeIncomplete?(olderThan: Date): Promise<string[]>;
}

/** A database export that cannot be used here; it fails with the reason, naming what to change. */
export function unavailableDatabaseExport(reason: string): DatabaseExport {
  return {
    exportDatabase: async () => {
      throw new Error(reason);
    },
  };
}
