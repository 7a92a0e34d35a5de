"""Loaded by the workers of a Dask LocalCluster that loyalsim starts.

Ctrl-C in a terminal reaches every process in its group: the cluster's processes leave it to
loyalsim, which stops them and keeps what finished, instead of each printing a traceback.
"""
import signal


def dask_setup(_):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
