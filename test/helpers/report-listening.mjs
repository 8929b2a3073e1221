// Preloaded (`node --import`) into a child process that a test starts on port 0: reports the
// port each server ends up listening on over the IPC channel, so the test never has to pick a
// "free" port first (another process can take such a port between the probe and the listen).
import net from 'node:net';

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  this.once('listening', () => {
    const address = this.address();
    if (address && typeof address === 'object' && process.send) process.send({ listening: address.port });
  });
  return listen.apply(this, args);
};

// The channel must not keep the child alive: tests check that examples exit by themselves.
process.channel?.unref();
