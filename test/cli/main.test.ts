import { exitWhenDone, main } from '../../cli/main';

describe('nextoffer main', () => {
  it('answers an unknown command with exit code 2 and the list of commands', async () => {
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await expect(main(['no-such-command'])).resolves.toBe(2);
      expect(String(stderr.mock.calls[0]?.[0])).toMatch(/unknown command 'no-such-command'[\s\S]*start/);
    } finally {
      stderr.mockRestore();
    }
  });
});

describe('nextoffer main, on a failure', () => {
  it('prints the message of an input or configuration error without a stack, exit code 1', async () => {
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const saved = process.env.ArchiveStorage;
    process.env.ArchiveStorage = 'garbage';
    try {
      // The setting is parsed inside the command and the ConfigurationError reaches main.
      await expect(main(['deadletter', 'list'])).resolves.toBe(1);
      const printed = stderr.mock.calls.map((call) => String(call[0])).join('');
      expect(printed).toContain('nextoffer deadletter: setting ArchiveStorage:');
      expect(printed).not.toMatch(/\n\s+at /);
    } finally {
      if (saved === undefined) delete process.env.ArchiveStorage;
      else process.env.ArchiveStorage = saved;
      stderr.mockRestore();
    }
  });
});

describe('exitWhenDone', () => {
  const exitCodeBefore = process.exitCode;
  afterEach(() => {
    process.exitCode = exitCodeBefore;
    jest.restoreAllMocks();
  });

  it('sets the exit code and, if something still holds the event loop, exits after the grace period', async () => {
    const exit = jest.spyOn(process, 'exit').mockImplementation(() => undefined as never);
    exitWhenDone(3, 20);
    expect(process.exitCode).toBe(3);
    expect(exit).not.toHaveBeenCalled();
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(exit).toHaveBeenCalledWith(3);
  });

  it('does not itself keep the process alive: its timer is unref-ed', () => {
    jest.spyOn(process, 'exit').mockImplementation(() => undefined as never);
    const timer = exitWhenDone(0, 20);
    expect(timer.hasRef()).toBe(false);
    clearTimeout(timer);
  });
});
