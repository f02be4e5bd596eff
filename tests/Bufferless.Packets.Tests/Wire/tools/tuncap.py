# Captures real Linux TCP packets (full checksums: the kernel completes them before a TUN read) in a private netns.
import fcntl, os, struct, socket, subprocess, threading, time, select
TUNSETIFF=0x400454ca; IFF_TUN=1; IFF_NO_PI=0x1000
fd=os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", b"cap0", IFF_TUN|IFF_NO_PI))
for c in (["ip","link","set","lo","up"],["ip","addr","add","198.18.99.1/24","dev","cap0"],
          ["ip","-6","addr","add","2001:2:99::1/64","dev","cap0","nodad"],["ip","link","set","cap0","up"]):
    subprocess.run(c,check=True)
def csum(b):
    if len(b)%2: b+=b"\0"
    s=sum(struct.unpack("!%dH"%(len(b)//2),b))
    while s>>16: s=(s&0xffff)+(s>>16)
    return (~s)&0xffff
def synack(pkt):
    v=pkt[0]>>4
    if v==4:
        ihl=(pkt[0]&15)*4; src,dst=pkt[12:16],pkt[16:20]; tcp=pkt[ihl:]
    else:
        src,dst=pkt[8:24],pkt[24:40]; tcp=pkt[40:]
    sport,dport,seq=struct.unpack("!HHI",tcp[:8])
    opts=struct.pack("!BBH",2,4,1400)+b"\x01\x01\x04\x02"
    th=struct.pack("!HHIIBBHHH",dport,sport,0x11223344,seq+1,(20+len(opts))//4<<4,0x12,64240,0,0)+opts
    if v==4:
        ph=dst+src+struct.pack("!BBH",0,6,len(th))
        th=th[:16]+struct.pack("!H",csum(ph+th))+th[18:]
        ip=struct.pack("!BBHHHBBH4s4s",0x45,0,20+len(th),0,0x4000,64,6,0,dst,src)
        ip=ip[:10]+struct.pack("!H",csum(ip))+ip[12:]
        return ip+th
    ph=dst+src+struct.pack("!IxxxB",len(th),6)
    th=th[:16]+struct.pack("!H",csum(ph+th))+th[18:]
    return struct.pack("!IHBB",0x60000000,len(th),6,64)+dst+src+th
out=[]
def reader():
    end=time.time()+3
    while time.time()<end:
        r,_,_=select.select([fd],[],[],0.2)
        if not r: continue
        p=os.read(fd,65535); out.append(p)
        v=p[0]>>4
        if (v==4 and p[9]==6) or (v==6 and p[6]==6):
            tcp=p[(p[0]&15)*4:] if v==4 else p[40:]
            if tcp[13]==0x02: os.write(fd,synack(p))
t=threading.Thread(target=reader); t.start(); time.sleep(0.2)
for fam,addr in ((socket.AF_INET,"198.18.99.2"),(socket.AF_INET6,"2001:2:99::2")):
    c=socket.socket(fam); c.settimeout(2); c.connect((addr,80)); c.sendall(b"GET / HTTP/1.0\r\n\r\n"); time.sleep(0.3); c.close()
t.join()
for p in out:
    v=p[0]>>4
    if (v==4 and p[9]==6) or (v==6 and p[6]==6): print(p.hex())
