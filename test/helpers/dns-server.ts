import dns2 from 'dns2';
import { onCleanup } from './peers';

const { Packet } = dns2;

/**
 * A real DNS server on 127.0.0.1 (UDP, a port from the OS) serving a zone the test edits as it
 * goes: A records and SRV records by name. A name with no record of any kind is NXDOMAIN, a
 * known name without records of the type asked is an empty answer, and `failing` answers
 * SERVFAIL to everything. Closed by `closeAll`.
 */
export class TestDns {
  readonly a = new Map<string, string[]>();
  readonly srv = new Map<string, Array<{ target: string; port: number }>>();
  failing = false;
  /** Questions received, as `TYPE name`. */
  readonly questions: string[] = [];

  private constructor(private readonly server: ReturnType<typeof dns2.createUDPServer>) {}

  static async start(): Promise<TestDns> {
    let zone: TestDns | undefined;
    const server = dns2.createUDPServer((request, send) => {
      const response = Packet.createResponseFromRequest(request);
      const question = request.questions[0];
      if (zone === undefined || question === undefined) return void send(response);
      const name = question.name.toLowerCase();
      zone.questions.push(`${question.type} ${name}`);
      if (zone.failing) {
        response.header.rcode = 2;
      } else if (!zone.a.has(name) && !zone.srv.has(name)) {
        response.header.rcode = 3;
      } else if (question.type === Packet.TYPE.A) {
        for (const address of zone.a.get(name) ?? []) {
          response.answers.push({ name: question.name, type: Packet.TYPE.A, class: Packet.CLASS.IN, ttl: 0, address } as never);
        }
      } else if (question.type === Packet.TYPE.SRV) {
        for (const { target, port } of zone.srv.get(name) ?? []) {
          response.answers.push({ name: question.name, type: Packet.TYPE.SRV, class: Packet.CLASS.IN, ttl: 0, priority: 0, weight: 0, port, target } as never);
        }
      }
      void send(response);
    });
    await server.listen(0, '127.0.0.1');
    zone = new TestDns(server);
    onCleanup(() => zone!.close());
    return zone;
  }

  /** `'127.0.0.1:port'`, for `discover(..., { servers: [dns.address] })`. */
  get address(): string {
    return `127.0.0.1:${this.server.address().port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
