#!/usr/bin/python3
"""A DICOM sender written from the PDU level up, to misbehave in ways dcmtk's storescu will not.

Usage: raw_sender.py MODE HOST PORT [CALLING CALLED FILE [SECONDS]]
  garbage   connect and send random bytes instead of an association request
  silent    connect and send nothing for SECONDS
  store     a correct association, one C-STORE of FILE, release; prints the status
  partial   associate, send the C-STORE command and half the dataset, then drop the connection
  stall     associate, send half the dataset, then wait SECONDS without a byte; prints whether the
            receiver closed the connection first
Prints one line "result: ..." that the tests look for. Uses only the standard library.
"""
import os
import random
import socket
import struct
import sys
import time

APPLICATION_CONTEXT = b'1.2.840.10008.3.1.1.1'


def item(kind, data):
    return struct.pack('>BBH', kind, 0, len(data)) + data


def pdu(kind, body):
    return struct.pack('>BBI', kind, 0, len(body)) + body


def even(value):
    return value + (b'\0' if len(value) % 2 else b'')


def read_exactly(sock, n):
    data = b''
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError('connection closed by the receiver')
        data += chunk
    return data


def read_pdu(sock):
    kind, _, length = struct.unpack('>BBI', read_exactly(sock, 6))
    return kind, read_exactly(sock, length)


def dataset_of(path):
    """SOP class, SOP instance, transfer syntax and the dataset bytes that follow the file meta group."""
    data = open(path, 'rb').read()
    assert data[128:132] == b'DICM', 'not a DICOM Part 10 file'
    group_length = struct.unpack('<I', data[140:144])[0]
    start = 144 + group_length
    meta = {}
    pos = 144
    while pos < start:
        group, element = struct.unpack('<HH', data[pos:pos + 4])
        vr = data[pos + 4:pos + 6]
        if vr in (b'OB', b'OW', b'UN', b'SQ', b'UT'):
            length = struct.unpack('<I', data[pos + 8:pos + 12])[0]
            value = data[pos + 12:pos + 12 + length]
            pos += 12 + length
        else:
            length = struct.unpack('<H', data[pos + 6:pos + 8])[0]
            value = data[pos + 8:pos + 8 + length]
            pos += 8 + length
        meta[element] = value.rstrip(b'\0 ').decode()
    return meta[0x0002], meta[0x0003], meta[0x0010], data[start:]


def associate(sock, calling, called, sop_class, syntax):
    context = struct.pack('>BBBB', 1, 0, 0, 0) + item(0x30, sop_class.encode()) + item(0x40, syntax.encode())
    user = item(0x51, struct.pack('>I', 16384)) + item(0x52, b'1.2.826.0.1.3680043.2.1143.1')
    body = (struct.pack('>HH', 1, 0) + called.ljust(16).encode() + calling.ljust(16).encode() + b'\0' * 32 +
            item(0x10, APPLICATION_CONTEXT) + item(0x20, context) + item(0x50, user))
    sock.sendall(pdu(0x01, body))
    kind, body = read_pdu(sock)
    if kind == 0x03:
        return 'rejected (result %d, source %d, reason %d)' % (body[1], body[2], body[3])
    if kind != 0x02:
        return 'unexpected PDU type %d' % kind
    pos = 68
    while pos < len(body):
        kind, _, length = struct.unpack('>BBH', body[pos:pos + 4])
        if kind == 0x21 and body[pos + 4] == 1:
            return 'accepted' if body[pos + 6] == 0 else 'context refused (%d)' % body[pos + 6]
        pos += 4 + length
    return 'no presentation context in the answer'


def element(group, elem, value):
    return struct.pack('<HHI', group, elem, len(value)) + value


def store_command(sop_class, sop_instance):
    body = (element(0, 0x0002, even(sop_class.encode())) + element(0, 0x0100, struct.pack('<H', 0x0001)) +
            element(0, 0x0110, struct.pack('<H', 1)) + element(0, 0x0700, struct.pack('<H', 0)) +
            element(0, 0x0800, struct.pack('<H', 0)) + element(0, 0x1000, even(sop_instance.encode())))
    return element(0, 0x0000, struct.pack('<I', len(body))) + body


def pdv(data, command, last):
    control = (1 if command else 0) | (2 if last else 0)
    return pdu(0x04, struct.pack('>I', len(data) + 2) + bytes([1, control]) + data)


def send_dataset(sock, dataset, upto, last):
    step = 16000
    for offset in range(0, upto, step):
        chunk = dataset[offset:min(offset + step, upto)]
        sock.sendall(pdv(chunk, False, last and offset + step >= upto))


def read_status(sock):
    kind, body = read_pdu(sock)
    if kind != 0x04:
        return 'PDU type %d instead of a response' % kind
    command = body[6:]
    pos = 0
    while pos < len(command):
        group, elem, length = struct.unpack('<HHI', command[pos:pos + 8])
        if (group, elem) == (0, 0x0900):
            return '0x%04X' % struct.unpack('<H', command[pos + 8:pos + 10])[0]
        pos += 8 + length
    return 'no status'


def main():
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    sock = socket.create_connection((host, port), timeout=120)
    if mode == 'garbage':
        sock.sendall(bytes(random.Random(7).getrandbits(8) for _ in range(4096)))
        try:
            sock.settimeout(30)
            closed = sock.recv(4096) == b''
        except (ConnectionError, socket.timeout):
            closed = True
        print('result: garbage sent, connection %s' % ('closed' if closed else 'answered'))
        return
    if mode == 'silent':
        time.sleep(float(sys.argv[4]))
        print('result: silent for %s s' % sys.argv[4])
        return
    calling, called, path = sys.argv[4], sys.argv[5], sys.argv[6]
    sop_class, sop_instance, syntax, dataset = dataset_of(path)
    outcome = associate(sock, calling, called, sop_class, syntax)
    if outcome != 'accepted':
        print('result: association %s' % outcome)
        return
    sock.sendall(pdv(store_command(sop_class, sop_instance), True, True))
    if mode == 'store':
        send_dataset(sock, dataset, len(dataset), True)
        status = read_status(sock)
        sock.sendall(pdu(0x05, b'\0' * 4))
        read_pdu(sock)
        print('result: stored %s with status %s' % (sop_instance, status))
    elif mode == 'partial':
        send_dataset(sock, dataset, len(dataset) // 2, False)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        sock.close()
        print('result: dropped %s half way' % sop_instance)
    elif mode == 'stall':
        send_dataset(sock, dataset, len(dataset) // 2, False)
        started = time.time()
        sock.settimeout(float(sys.argv[7]))
        try:
            data = sock.recv(65536)
            waited = time.time() - started
            print('result: receiver %s after %.0f s' % ('closed the connection' if not data else
                                                         'sent PDU type %d' % data[0], waited))
        except socket.timeout:
            print('result: receiver still waiting after %s s' % sys.argv[7])
        except ConnectionError:
            print('result: receiver closed the connection after %.0f s' % (time.time() - started))
    else:
        sys.exit('unknown mode ' + mode)


if __name__ == '__main__':
    main()
