"""Compound SMB2 requests and the parsing of their replies (MS-SMB2, MS-FSCC)."""

import logging
import struct
from datetime import datetime, timedelta, timezone

import smbclient
from smbclient._pool import get_smb_tree
from smbprotocol.exceptions import SMBOSError, SMBResponseException
from smbprotocol.file_info import FileAttributes, FileInformationClass
from smbprotocol.header import NtStatus
from smbprotocol.open import (CreateDisposition, CreateOptions, FilePipePrinterAccessMask,
                              ImpersonationLevel, Open, QueryDirectoryFlags, ShareAccess)

from .connection import _brief

log = logging.getLogger("workbench.targets.smb")


# Bytes read in the same compound request as the open (one credit): all of a lock file, the
# header line of a manifest, and ZIP signatures.
_HEAD = 64 * 1024


# Directory entries asked for in one QUERY_DIRECTORY (the server stops when the next entry would
# not fit): about 6000 names, more than a backup directory holds.
_LIST_BUFFER = 1024 * 1024


_READ_ACCESS = (FilePipePrinterAccessMask.FILE_READ_DATA
                | FilePipePrinterAccessMask.FILE_READ_ATTRIBUTES
                | FilePipePrinterAccessMask.FILE_READ_EA)


_SYMLINK_TAG = 0xA000000C  # IO_REPARSE_TAG_SYMLINK


_CREDIT = 64 * 1024        # bytes one SMB credit pays for


# Replies, from the end of the SMB2 header (MS-SMB2 2.2.14, 2.2.20, 2.2.34; MS-FSCC 2.4.18):
# CREATE: last write, change time, end of file, file id; READ and QUERY_DIRECTORY: where the
# data is (offset from the start of the header) and its length; a directory entry: next entry
# offset, last write, change time, end of file, attributes, name length, EA size (the reparse
# tag of a reparse point).
_CREATE_REPLY = struct.Struct("<24xQQ8xQ8x16s")


_READ_REPLY = struct.Struct("<2xB1xI")


_QUERY_REPLY = struct.Struct("<2xHI")


_DIR_ENTRY = struct.Struct("<I20xQQQ8xIII")


_FILETIME_1970 = 116444736000000000


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


_MICROSECOND = timedelta(microseconds=1)


_LIST_ENDS = {NtStatus.STATUS_NO_MORE_FILES, NtStatus.STATUS_NO_SUCH_FILE}


def _us(t):
    """Microseconds since 1970 of a FILETIME int or an smbprotocol datetime (same value)."""
    if isinstance(t, int):
        return (t - _FILETIME_1970) // 10
    return (t - _EPOCH) // _MICROSECOND


def _version(info):
    """What tells one content of a file from another: ``(size, last write, change time)``, from
    an smbprotocol Open or directory entry."""
    return info.end_of_file, _us(info.last_write_time), _us(info.change_time)


class _Opened:
    """The fields of an SMB2 CREATE reply this module uses."""

    __slots__ = ("file_id", "version")

    def __init__(self, data):
        write, change, size, self.file_id = _CREATE_REPLY.unpack_from(data)
        self.version = (size, _us(write), _us(change))


def _parse_listing(data):
    """``{name: version}`` of the files in a QUERY_DIRECTORY reply of FileIdFullDirectoryInformation
    entries; directories and symbolic links are left out (as scandir's ``is_file(False)``)."""
    offset, length = _QUERY_REPLY.unpack_from(data)
    buf = memoryview(data)[offset - 64:offset - 64 + length]
    files, pos = {}, 0
    while True:
        step, write, change, size, attrs, name_len, tag = _DIR_ENTRY.unpack_from(buf, pos)
        if not (attrs & FileAttributes.FILE_ATTRIBUTE_DIRECTORY or (
                attrs & FileAttributes.FILE_ATTRIBUTE_REPARSE_POINT and tag == _SYMLINK_TAG)):
            name = bytes(buf[pos + 80:pos + 80 + name_len]).decode("utf-16-le")
            files[name] = (size, _us(write), _us(change))
        if not step:
            return files
        pos += step


class Compound:
    """Open, act and close in one round trip (SMBTarget inherits it).

    smbclient's own calls wait for each reply in turn: listing a directory costs CREATE, two
    QUERY_DIRECTORY and CLOSE, reading a file's start CREATE, READ and CLOSE, each a round trip.
    Sent as one related compound (the requests after the CREATE act on its handle) each costs one
    round trip. The replies are parsed here with struct: smbprotocol's structures take longer to
    parse a directory listing than the loopback round trip itself.
    """

    def _open_for(self, name=None):
        """An unopened smbprotocol Open of *name* (None: the directory), or None on a DFS share,
        whose referrals only smbclient's own calls follow."""
        tree, path = get_smb_tree(self._unc(name) if name else self._dir_unc, **self._kwargs())
        return None if tree.is_dfs_share else Open(tree, path)

    def _compound(self, fd, create, *requests):
        """Send fd's CREATE, *requests* on its handle and its CLOSE as one related compound.

        Returns the reply data (bytes after the SMB2 header) of each request, or the
        SMBResponseException it carried; the CREATE's reply is parsed into a :class:`_Opened`.
        Every reply is received (smbprotocol keeps unclaimed ones). A server may fail the
        requests after a failed one, CLOSE included: then the handle is closed on its own, so
        that no open handle is left to block a later rename or delete.
        """
        conn = fd.connection
        sid, tid = fd.tree_connect.session.session_id, fd.tree_connect.tree_connect_id
        sent = conn.send_compound([create, *requests, fd.close(send=False)[0]], sid, tid,
                                  related=True)
        results = []
        for request in sent:
            try:
                results.append(conn.receive(request)["data"].get_value())
            except SMBResponseException as e:
                results.append(e)
        if not isinstance(results[0], Exception):
            results[0] = _Opened(results[0])
            if isinstance(results[-1], Exception):
                close = fd.close(send=False)[0]
                close["file_id"] = results[0].file_id
                try:
                    conn.receive(conn.send(close, sid, tid))
                except SMBResponseException as e:
                    log.debug("%s: closing %s failed (%s)", self.url, fd.file_name, _brief(e))
        return results[:-1]

    def _read_head(self, name, length=_HEAD):
        """``(data, version)``: the first *length* bytes of *name* and its :func:`_version`,
        opened, read and closed in one round trip."""
        path = self._unc(name)
        fd = self._open_for(name)
        if fd is None:
            with smbclient.open_file(path, "rb", buffering=0, share_access="r",
                                     **self._kwargs()) as f:
                return f.read(length), _version(f.fd)
        length = min(length, fd.connection.max_read_size)
        opened, data = self._compound(
            fd, fd.create(ImpersonationLevel.Impersonation, _READ_ACCESS,
                          FileAttributes.FILE_ATTRIBUTE_NORMAL, ShareAccess.FILE_SHARE_READ,
                          CreateDisposition.FILE_OPEN, CreateOptions.FILE_NON_DIRECTORY_FILE,
                          send=False)[0],
            fd.read(0, length, send=False)[0])
        if isinstance(opened, Exception):
            raise SMBOSError(opened.status, path)
        if isinstance(data, Exception):
            if data.status != NtStatus.STATUS_END_OF_FILE:  # what reading an empty file gives
                raise SMBOSError(data.status, path)
            return b"", opened.version
        offset, size = _READ_REPLY.unpack_from(data)
        return data[offset - 64:offset - 64 + size], opened.version

    def _list_compound(self):
        """``{name: version}`` of the directory's files in one round trip, or None if one query
        did not hold them all (or the share is DFS): then scandir lists batch by batch."""
        fd = self._open_for()
        if fd is None:
            return None
        conn = fd.connection
        credits = conn.sequence_window["high"] - conn.sequence_window["low"]
        first = min(_LIST_BUFFER, conn.max_transact_size, (credits - 3) * _CREDIT)
        if first <= 0:  # too few credits for four requests at once
            return None
        info = FileInformationClass.FILE_ID_FULL_DIRECTORY_INFORMATION
        opened, entries, more = self._compound(
            fd, fd.create(ImpersonationLevel.Impersonation, _READ_ACCESS,
                          FileAttributes.FILE_ATTRIBUTE_DIRECTORY,
                          ShareAccess.FILE_SHARE_READ | ShareAccess.FILE_SHARE_WRITE
                          | ShareAccess.FILE_SHARE_DELETE,
                          CreateDisposition.FILE_OPEN, CreateOptions.FILE_DIRECTORY_FILE,
                          send=False)[0],
            fd.query_directory("*", info, flags=QueryDirectoryFlags.SMB2_RESTART_SCANS,
                               max_output=first, send=False)[0],
            # The end of the listing shows only as a query that finds no more entries.
            fd.query_directory("*", info, flags=0, max_output=_CREDIT, send=False)[0])
        for result in (opened, entries, more):
            if isinstance(result, Exception) and result.status not in _LIST_ENDS:
                raise SMBOSError(result.status, self._dir_unc)
        if not isinstance(more, Exception):
            return None
        return {} if isinstance(entries, Exception) else _parse_listing(entries)
