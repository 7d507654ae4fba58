// Azurite ships no type declarations for its in-process API; these cover only what local/stack.ts uses.
declare module 'azurite/dist/src/blob/BlobConfiguration' {
  export default class BlobConfiguration {
    constructor(
      host?: string,
      port?: number,
      keepAliveTimeout?: number,
      metadataDBPath?: string,
      extentDBPath?: string,
      persistencePathArray?: unknown[],
      enableAccessLog?: boolean,
      accessLogWriteStream?: NodeJS.WritableStream,
      enableDebugLog?: boolean,
      debugLogFilePath?: string,
      loose?: boolean,
      skipApiVersionCheck?: boolean,
      cert?: string,
      key?: string,
      pwd?: string,
      oauth?: string,
      disableProductStyleUrl?: boolean,
      isMemoryPersistence?: boolean,
      memoryStore?: unknown,
    );
  }
}

declare module 'azurite/dist/src/blob/BlobServer' {
  import BlobConfiguration from 'azurite/dist/src/blob/BlobConfiguration';
  export default class BlobServer {
    constructor(configuration: BlobConfiguration);
    start(): Promise<void>;
    close(): Promise<void>;
    clean(): Promise<void>;
    getHttpServerAddress(): string;
  }
}

declare module 'azurite/dist/src/common/persistence/MemoryExtentStore' {
  export class MemoryExtentChunkStore {
    constructor(sizeLimit: number);
  }
}
