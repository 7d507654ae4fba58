import { join } from 'node:path';
import { FunctionsHost, loadFunctionModules, startFunctionsHost } from '../../local/host';
import { listRegistrations } from '../../shared/hosting/registry';

/**
 * The local host serving one HTTP function of dist/functions and nothing else (no Event Hubs or timer
 * triggers), so a benchmark measures that function without a consumer competing for the 2 cores.
 */
export async function startSingleFunctionHost(name: string): Promise<FunctionsHost> {
  const warn = console.warn;
  console.warn = () => undefined; // @azure/functions' "test mode" notice at each registration
  try {
    loadFunctionModules(join(__dirname, '..', '..', 'functions'));
  } finally {
    console.warn = warn;
  }
  return startFunctionsHost({
    port: 0,
    registrations: listRegistrations().filter((r) => r.name === name),
    enableNonHttpTriggers: false,
    log: () => undefined,
  });
}
