"""Video in and out: streaming frame access and the result formats other tools read.

Reading (`open_video` -> `VideoSource`): video files (mp4, mov, webm, avi, mkv through
PyAV, or decord where it is installed; the decodable start of a damaged file through OpenCV;
gif through Pillow) and folders of frames (jpg/png, in natural name order). Frames are
decoded on demand, so memory does not grow with the clip's length. Writing: DAVIS-style
palette PNG index masks and H.264 MP4 (yuv420p, faststart) that browsers play, through PyAV.

    readers.py      the FrameReader protocol every reader follows, VideoInfo
    pyav_files.py   PyAVReader (the default decoder)
    video_files.py  DecordReader (optional accelerator), OpenCVReader, DamagedVideoReader
    image_files.py  GifReader, FrameFolderReader
    choose.py       choose_reader, video_decoder: which reader serves which file (the one place that decides)
    source.py       VideoSource / open_video: range checks and streaming over any reader
    resize.py       resize_short_side (the working-size rule of geometry.py, with OpenCV)
    mask_files.py   read/write index-mask PNGs, open_mask_image, check_mask_shape
    mp4.py          Mp4Writer
"""

from ..errors import MaskError, VideoError
from ..geometry import working_shape
from .choose import GIF_EXTENSIONS, SUPPORTED, VIDEO_EXTENSIONS, choose_reader, video_decoder
from .image_files import FrameFolderReader, GifReader
from .mask_files import check_mask_shape, open_mask_image, read_index_mask, write_index_mask, write_mask_sequence
from .mp4 import MP4_ENCODERS, Mp4Writer, mp4_encoder
from .readers import FRAME_EXTENSIONS, READ_BATCH, FrameReader, VideoInfo
from .resize import resize_short_side
from .pyav_files import PyAVReader
from .source import VideoSource, open_video
from .video_files import DamagedVideoReader, DecordReader, OpenCVReader

__all__ = [
    "open_video", "VideoSource", "VideoInfo", "choose_reader", "video_decoder", "FrameReader",
    "PyAVReader", "DecordReader", "OpenCVReader", "DamagedVideoReader", "GifReader", "FrameFolderReader",
    "VIDEO_EXTENSIONS", "GIF_EXTENSIONS", "FRAME_EXTENSIONS", "SUPPORTED", "READ_BATCH",
    "resize_short_side", "working_shape",
    "open_mask_image", "read_index_mask", "write_index_mask", "write_mask_sequence", "check_mask_shape",
    "Mp4Writer", "mp4_encoder", "MP4_ENCODERS",
    "VideoError", "MaskError",
]
