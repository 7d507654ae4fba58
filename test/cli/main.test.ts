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
